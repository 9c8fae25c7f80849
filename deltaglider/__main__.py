"""``python -m deltaglider``: the command line."""

from __future__ import annotations

from deltaglider.cli import main

if __name__ == "__main__":
    main()
