import sys

from lmverify.cli import main

sys.exit(main())
