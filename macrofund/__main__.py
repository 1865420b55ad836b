"""``python -m macrofund``."""

from __future__ import annotations

from macrofund.cli import main

main()
