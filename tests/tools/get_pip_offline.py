"""Stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from the internet to bootstrap pip in each throwaway
virtual environment. Where that host is unreachable, this script does the same job with the
standard library's ensurepip, then installs the requested packages from the configured index.
"""
import ensurepip
import os
import subprocess
import sys


def main():
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at the null device, which would hide the machine's pip
    # configuration (its index and CA bundle) from the install below.
    os.environ.pop("PIP_CONFIG_FILE", None)
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
