"""``python -m reference.reproduction``: see ``reference.reproduction.cli``."""

from reference.reproduction.cli import main

raise SystemExit(main())
