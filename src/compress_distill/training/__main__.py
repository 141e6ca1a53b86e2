"""`python -m compress_distill.training --spec spec.json`: run one training job (launch.main)."""

import sys

from compress_distill.training.launch import main

sys.exit(main())
