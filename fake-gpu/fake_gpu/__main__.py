import sys

from fake_gpu.cli import main

sys.exit(main())
