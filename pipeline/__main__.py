"""``python -m pipeline`` = ``xinde``."""
from .cli import main

main()
