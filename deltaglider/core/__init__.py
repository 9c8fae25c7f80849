"""The core: models, the on-storage format, and the service's flows. It talks to the world only
through the ports."""
