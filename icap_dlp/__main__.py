import sys

from icap_dlp.cli import main

sys.exit(main())
