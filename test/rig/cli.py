"""
The rig's command line, run from the repository root as `python test/rig ...`:

    python test/rig [--mode M] --json < cases.json   batch mode, what test/rig/conformance.mjs uses
    python test/rig [--mode M] check CHECKER.wasm SPEC [--timeout MS] [--runs N]
    python test/rig load MODULE.wasm          validate and load; prints the class or the one-line reason
    python test/rig stock-check CHECKER.wasm IMAGE   one check of a disk image file under wasmtime's own
                                              WASI (stock_wasi.py: no shim of ours, the image read-only)

--mode blocking|resuming (default resuming) is how device fds wait (fd_mode.py): blocking as a stock
WASI runtime, or non-blocking with WAIT | fd and pc_pending as docs/ABI.md says.

Batch mode reads a JSON list of cases on stdin and writes one JSON object on stdout:
{"engine": {..., "mode"}, "results": [...]}, one result per case, in order.

    {"op": "check", "checker": PATH, "device": SPEC, "timeoutMs": MS, "runs": N, "answers": BOOL?}
        -> {"op": "check", "checker", "device", "name", "state", "code", "message", "us", "runs",
            "parked", "waits", "initWaits", "answers"?}
           The answer is the first check of a freshly bound path on a fresh device; runs - 1 more
           checks of the same path follow, and "us" is the median time of all runs. "parked" is how
           many of the runs answered WAIT at least once, "waits" how many WAITs they answered in all,
           "initWaits" how many the path's pc_init answered. With "answers", every run's
           "<state>: <message>" is listed too.
    {"op": "load", "path": PATH, "origin": TEXT?}
        -> {"op": "load", "path", "ok": true, "name"} or {"op": "load", "path", "ok": false, "code", "reason"}

A case that cannot run gives {"op": ..., "error": "one line"}. Exit status: 0, 2 for bad usage or
input, 3 when the wasmtime package is missing.
"""
import argparse
import json
import statistics
import sys
from typing import Any, Dict, List, Optional


def _need_wasmtime() -> Any:
    try:
        import wasmtime
        return wasmtime
    except ImportError as e:
        print(f'wasmtime rig: the wasmtime package is not installed for {sys.executable} ({e}); run `npm run rig:setup`', file=sys.stderr)
        sys.exit(3)


class Rig:
    """The classes loaded so far (by path, loaded once, as the Node host keeps one class per checker)."""

    def __init__(self, mode: str):
        from .engine import make_engine
        from .fd_mode import MODES
        from .scenario_file import load_scenario_file
        self.engine = make_engine()
        self.scenarios = load_scenario_file()
        self.mode = MODES[mode]
        self.classes: Dict[str, Any] = {}

    def load(self, path: str, origin: Optional[str] = None):
        from .checker_class import CheckerClass
        return CheckerClass.load(self.engine, path, origin=origin, mode=self.mode)

    def checker(self, path: str):
        if path not in self.classes:
            self.classes[path] = self.load(path)
        return self.classes[path]

    def check(self, checker_path: str, spec: str, timeout_ms: float, runs: int, answers: bool = False) -> Dict[str, Any]:
        from .run_check import check
        from .sim_device import SimDevice
        cls = self.checker(checker_path)
        device = SimDevice(spec, self.scenarios)
        slot = cls.open_context(device)
        init_waits = cls.last_init_waits
        try:
            results = [check(cls, slot, timeout_ms) for _ in range(max(runs, 1))]
        finally:
            cls.release_context(slot)
        first = results[0]
        out = {'name': cls.name, 'state': first.state, 'code': first.code, 'message': first.message,
               'us': round(statistics.median(r.us for r in results), 2), 'runs': len(results),
               'parked': sum(1 for r in results if r.waits > 0), 'waits': sum(r.waits for r in results), 'initWaits': init_waits}
        if answers:
            out['answers'] = [f'{r.state}: {r.message}' for r in results]
        return out


def _run_case(rig: Rig, case: Dict[str, Any]) -> Dict[str, Any]:
    from .load_error import LoadError
    op = case.get('op')
    if op == 'check':
        out = {'op': op, 'checker': case['checker'], 'device': case['device']}
        try:
            out.update(rig.check(case['checker'], case['device'], float(case.get('timeoutMs', 30000)), int(case.get('runs', 1)), bool(case.get('answers', False))))
        except LoadError as e:
            out['error'] = e.message
        except Exception as e:  # noqa: BLE001 - every case answers, one line each
            out['error'] = f'{type(e).__name__}: {e}'
        return out
    if op == 'load':
        out = {'op': op, 'path': case['path']}
        try:
            cls = rig.load(case['path'], case.get('origin'))
            out.update({'ok': True, 'name': cls.name})
        except LoadError as e:
            out.update({'ok': False, 'code': e.code, 'reason': e.message})
        return out
    return {'op': op, 'error': f"unknown op {op!r} (expected 'check' or 'load')"}


def _engine_info(wasmtime: Any, mode: str) -> Dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    try:
        v = version('wasmtime')
    except PackageNotFoundError:
        v = 'unknown'
    return {'name': 'wasmtime', 'version': v, 'python': sys.version.split()[0], 'mode': mode}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog='python test/rig', description='pathcheck checker plugins under the wasmtime engine')
    parser.add_argument('--json', action='store_true', help='batch mode: a JSON list of cases on stdin, results on stdout')
    parser.add_argument('--mode', choices=('blocking', 'resuming'), default='resuming',
                        help='device fds block up to the deadline (a stock WASI runtime), or are non-blocking with WAIT | fd and pc_pending (default)')
    sub = parser.add_subparsers(dest='command')
    check = sub.add_parser('check', help='check one simulated device with one checker')
    check.add_argument('checker', help='path to a checker .wasm')
    check.add_argument('device', help='sim:<scenario>[?key=value&...]')
    check.add_argument('--timeout', type=float, default=30000, help='checker_timeout in ms (default 30000)')
    check.add_argument('--runs', type=int, default=1, help='checks of the same path; the time shown is their median')
    load = sub.add_parser('load', help='validate and load a module, print the class or why it is refused')
    load.add_argument('module')
    stock = sub.add_parser('stock-check', help="check a disk image with one checker under wasmtime's own WASI (no shim)")
    stock.add_argument('checker', help='path to a checker .wasm')
    stock.add_argument('image', help='a disk image file; its directory is preopened read-only')
    args = parser.parse_args(argv)

    wasmtime = _need_wasmtime()
    rig = Rig(args.mode)
    if args.json and args.command is None:
        try:
            cases = json.load(sys.stdin)
        except json.JSONDecodeError as e:
            print(f'wasmtime rig: stdin is not JSON: {e}', file=sys.stderr)
            return 2
        if not isinstance(cases, list):
            print('wasmtime rig: stdin must be a JSON list of cases', file=sys.stderr)
            return 2
        results = [_run_case(rig, c) for c in cases]
        json.dump({'engine': _engine_info(wasmtime, args.mode), 'results': results}, sys.stdout)
        sys.stdout.write('\n')
        return 0
    if args.command == 'check':
        r = _run_case(rig, {'op': 'check', 'checker': args.checker, 'device': args.device, 'timeoutMs': args.timeout, 'runs': args.runs})
        if args.json:
            print(json.dumps(r))
        elif 'error' in r:
            print(f"wasmtime rig: {r['error']}", file=sys.stderr)
            return 2
        else:
            print(f"{r['device']}  {r['name']}  {r['state']}  {r['message']}  ({r['us']:.1f} us, {args.mode}, parked {r['parked']} of {r['runs']})")
        return 0 if r.get('state') in ('up', 'ghost') else 1
    if args.command == 'stock-check':
        from .stock_wasi import check_image
        r = check_image(rig.engine, args.checker, args.image)
        if args.json:
            print(json.dumps(r))
        elif 'error' in r:
            print(f"wasmtime rig: {r['error']}", file=sys.stderr)
            return 2
        else:
            print(f"{r['image']}  {r['checker']}  {r['state']}  {r['message']}  (wasmtime WASI, fd {r['fd']})")
        if 'error' in r:
            return 2
        return 0 if r['state'] in ('up', 'ghost') else 1
    if args.command == 'load':
        r = _run_case(rig, {'op': 'load', 'path': args.module})
        if args.json:
            print(json.dumps(r))
        elif r['ok']:
            print(f"{r['path']}: checker '{r['name']}', ABI version 2")
        else:
            print(r['reason'], file=sys.stderr)
        return 0 if r['ok'] else 2
    parser.print_usage(sys.stderr)
    return 2
