import sys

from jqm_kubectl.cli import main

sys.exit(main())
