"""The history of a name: the versions a user's upload or delete replaced, each kept as the stored
object that held it (:mod:`deltaglider.core.format.layout`, ``HISTORY_FOLDER``)."""
