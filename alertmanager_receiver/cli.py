"""aiops-receiver: command line."""

import sys


def main(argv=None) -> int:
    print("aiops-receiver is not implemented yet (issue 3)", file=sys.stderr)
    return 1
