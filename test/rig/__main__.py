"""
Entry point: `python test/rig ...` (from the repository root).

`python -m test.rig` cannot be relied on: `test` is also the name of CPython's own regression-test
package, and a regular package found on sys.path (the stdlib's, when installed, as with pyenv builds)
wins over the repository's `test/` directory, which has no __init__.py and is only a namespace portion.
So this file loads the rig package under its own name, `pathcheck_rig`, and keeps its directory off
sys.path so that none of its module names can shadow the standard library.
"""
import importlib
import importlib.util
import os
import sys

# No __pycache__/ inside the repository (the rig is run from a checkout; .gitignore does not cover it).
sys.dont_write_bytecode = True

if __package__:
    # Run as part of a package (`python -m test.rig` where that resolves): plain relative import.
    from .cli import main  # type: ignore[no-redef]
else:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or '.') != here]
    spec = importlib.util.spec_from_file_location('pathcheck_rig', os.path.join(here, '__init__.py'), submodule_search_locations=[here])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules['pathcheck_rig'] = package
    spec.loader.exec_module(package)
    main = importlib.import_module('pathcheck_rig.cli').main

sys.exit(main(sys.argv[1:]))
