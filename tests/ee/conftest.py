"""The execution environment's tests (`make test-ee`) reuse the integration tests' helpers (rbac/ identities, node marks)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
