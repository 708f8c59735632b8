import sys

from ingest_service.cli.main import main

sys.exit(main())
