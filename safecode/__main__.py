import sys

from safecode.cli import main

sys.exit(main())
