"""Training speed of the engine, side by side with PyTorch CPU in the same run.

    python benchmarks/engine.py                      # our engine only
    python benchmarks/engine.py --reference torch    # interleaved with PyTorch, ratios per row
    python benchmarks/engine.py --quick              # a short smoke run (seconds)
    python benchmarks/engine.py --json results.json  # also write every figure
    python benchmarks/engine.py --clock cpu          # CPU time instead of wall time (busy machine)

Every row drives :class:`engine.session.TrainingSession` — the object the server
runs — so batching, the optimizer, the history and (where asked) the trace are all
in the figure. Untraced rows call ``step(n)`` as the server's play loop does; traced
rows call ``step(1, level)`` once per step, so each step pays for its trace.
Evaluation points are off while timing (``eval_every`` = a huge number) so both
engines do the same work, except in the row marked "eval/epoch", which keeps the
default of evaluating the whole train and test set at every epoch end.

The PyTorch reference trains the same network on the same arrays in the same
dtype with ``torch.nn`` + ``torch.optim.SGD``, one thread, batches drawn from a
fresh ``randperm`` per epoch, and reads ``loss.item()`` each step (the engine
records every step's loss). Every repeat times the two back to back (who goes
first alternates), and the ratio printed is the median of the per-repeat ratios,
so a neighbour's load, which drifts over seconds, hits both alike. Traced rows
are paired the same way with the untraced run of the same network, which gives
"× the time of an untraced step". Figures are medians over repeats with the
min–max range.

BLAS is pinned to one thread before NumPy loads (``OPENBLAS_NUM_THREADS=1``): a
sub-millisecond step with two BLAS threads on a busy 2-core machine stalls for
tens of milliseconds. ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` change which
kernels OpenBLAS picks; the run says whether they are set, and
``--unset-openblas-env`` re-executes the script without them.
"""

from __future__ import annotations

import os
import sys

# Before NumPy (and OpenBLAS) load: one BLAS/OpenMP thread, see the module docstring.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# Run as a script, this file's directory comes first on sys.path, and this file is
# itself called "engine": put the repository root there instead so `engine` is the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.session import TrainingSession  # noqa: E402

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_REEXEC_MARK = "BACKPROP_BENCH_UNSET_OPENBLAS"
NO_EVAL = 10**12  # eval_every while timing: no evaluation points inside the timed steps

Runner = Callable[[int], None]


# --- the cases ------------------------------------------------------------------


def _playground(batch_size: int, eval_every: int = NO_EVAL) -> dict[str, Any]:
    return {
        "model": {
            "input_shape": [2],
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            "loss": "bce",
        },
        "data": {
            "dataset": "circle",
            "samples": 500,
            "noise": 0.1,
            "train_fraction": 0.5,
            "features": ["x1", "x2"],
        },
        "training": {
            "optimizer": {"name": "sgd", "lr": 0.03},
            "batch_size": batch_size,
            "eval_every": eval_every,
        },
        "seed": 0,
    }


def _mnist_like() -> dict[str, Any]:
    # Synthetic "MNIST-shaped" data: 784 features, 10 classes, no download. 2,048 rows keep the
    # inline arrays under the engine's limit of 2,000,000 numbers.
    rng = np.random.default_rng(0)
    x = rng.random((2048, 784))
    y = rng.integers(0, 10, 2048)
    return {
        "model": {
            "input_shape": [784],
            "layers": [
                {"type": "dense", "units": 128, "activation": "relu"},
                {"type": "dense", "units": 10, "activation": "softmax"},
            ],
            "loss": "cross_entropy",
            "initializer": "he_uniform",
            "dtype": "float32",
        },
        "data": {"x": x, "y": y},
        "training": {"optimizer": {"name": "sgd", "lr": 0.01}, "batch_size": 64, "eval_every": NO_EVAL},
        "seed": 0,
    }


def _conv() -> dict[str, Any]:
    return {
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 8, "kernel": 3, "activation": "relu"},
                {"type": "flatten"},
                {"type": "dense", "units": 10, "activation": "softmax"},
            ],
            "loss": "cross_entropy",
            "initializer": "he_uniform",
            "dtype": "float32",
        },
        "data": {"dataset": "digits"},
        "training": {"optimizer": {"name": "sgd", "lr": 0.05}, "batch_size": 32, "eval_every": NO_EVAL},
        "seed": 0,
    }


def _recurrent(kind: str, units: int) -> dict[str, Any]:
    cell: dict[str, Any] = {"type": kind, "units": units}
    if kind == "rnn":
        cell["activation"] = "tanh"
    return {
        "model": {
            "layers": [cell, {"type": "dense", "units": 1, "activation": "linear"}],
            "loss": "mse",
            "dtype": "float32",
        },
        "data": {"dataset": "adding", "samples": 1000, "length": 20, "target": "last"},
        "training": {"optimizer": {"name": "sgd", "lr": 0.01}, "batch_size": 16, "eval_every": NO_EVAL},
        "seed": 0,
    }


@dataclass(frozen=True)
class Case:
    """One row: a session config, the trace level of each step, and the matching torch network."""

    key: str
    label: str
    config: Callable[[], dict[str, Any]]
    torch_net: str  # which PyTorch network mirrors it (see torch_runner)
    trace: str = "off"
    baseline: str = ""  # traced rows: the key of the same network's untraced row
    note: str = ""


def _mlp_cases(batch: int, name: str, label: str) -> list[Case]:
    """The 2-8-8-1 playground net at ``batch``: untraced, then every step traced at summary and full."""

    def config() -> dict[str, Any]:
        return _playground(batch)

    off = Case(f"{name}_off", f"{label}, trace off", config, "mlp")
    return [
        off,
        Case(f"{name}_summary", f"{label}, trace summary", config, "mlp", "summary", off.key),
        Case(f"{name}_full", f"{label}, trace full", config, "mlp", "full", off.key),
    ]


CASES: tuple[Case, ...] = (
    *_mlp_cases(10, "mlp_b10", "2-8-8-1 tanh, batch 10"),
    Case(
        "mlp_b10_off_eval",
        "2-8-8-1 tanh, batch 10, trace off, eval/epoch",
        lambda: _playground(10, eval_every=0),
        "mlp",
        note="evaluates 500 points every 25 steps; torch does not",
    ),
    *_mlp_cases(250, "mlp_full", "2-8-8-1 tanh, full batch 250"),
    Case("mlp784", "784-128-10 relu softmax-CE, batch 64, f32", _mnist_like, "mlp784"),
    Case("conv", "conv 3x3x8 on 8x8x1, batch 32, f32", _conv, "conv"),
    Case("rnn", "rnn tanh H16 T20, batch 16, f32", lambda: _recurrent("rnn", 16), "rnn"),
    Case("lstm", "lstm H32 T20, batch 16, f32", lambda: _recurrent("lstm", 32), "lstm"),
)


CASE_BY_KEY = {case.key: case for case in CASES}


# --- our engine -------------------------------------------------------------------


def engine_runner(case: Case) -> tuple[Runner, int]:
    """A function running ``n`` training steps of ``case``, and the batch size."""
    session = TrainingSession(case.config())
    batch = min(session.batch_size, len(session.data.x_train))
    step = session.step
    level: Any = case.trace

    def check(result: Any) -> None:
        if result.divergence is not None:
            raise RuntimeError(f"{case.key}: the benchmark run diverged: {result.divergence.message}")

    if level == "off":

        def run(n: int) -> None:
            check(step(n))

    else:

        def run(n: int) -> None:
            for _ in range(n):
                step(1, level)
            check(step(0))

    return run, batch


# --- the PyTorch reference ---------------------------------------------------------


def torch_runner(case: Case) -> Runner:
    """The same network, data, dtype, batch size and SGD in PyTorch, one thread."""
    import torch
    from torch import Tensor, nn

    class Sequence(nn.Module):
        """rnn/lstm over (N, T, F), its last h through a linear layer: many-to-one regression."""

        def __init__(self, cell: nn.Module, units: int) -> None:
            super().__init__()
            self.cell, self.head = cell, nn.Linear(units, 1)

        def forward(self, x: Tensor) -> Tensor:
            out, _ = self.cell(x)
            result: Tensor = self.head(out[:, -1])
            return result

    torch.set_num_threads(1)
    torch.manual_seed(0)
    session = TrainingSession(case.config())  # for its data arrays: exactly what our engine trains on
    config = session.config  # normalized: every default filled in
    dtype = torch.float32 if config["model"]["dtype"] == "float32" else torch.float64
    X = torch.as_tensor(np.ascontiguousarray(session.data.x_train), dtype=dtype)
    Y_np = np.asarray(session.data.y_train)
    model: nn.Module
    loss_fn: nn.Module
    if case.torch_net == "mlp":
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
        loss_fn = nn.BCEWithLogitsLoss()  # sigmoid output + BCE, fused as in the engine
        Y = torch.as_tensor(Y_np.reshape(len(Y_np), 1), dtype=dtype)
    elif case.torch_net in ("mlp784", "conv"):
        if case.torch_net == "mlp784":
            model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        else:
            model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
        loss_fn = nn.CrossEntropyLoss()  # softmax output + cross-entropy
        Y = torch.as_tensor(Y_np.argmax(axis=-1), dtype=torch.int64)
    elif case.torch_net == "rnn":
        model = Sequence(nn.RNN(X.shape[-1], 16, batch_first=True, nonlinearity="tanh"), 16)
        loss_fn = nn.MSELoss()
        Y = torch.as_tensor(Y_np.reshape(len(Y_np), -1), dtype=dtype)
    elif case.torch_net == "lstm":
        model = Sequence(nn.LSTM(X.shape[-1], 32, batch_first=True), 32)
        loss_fn = nn.MSELoss()
        Y = torch.as_tensor(Y_np.reshape(len(Y_np), -1), dtype=dtype)
    else:
        raise ValueError(f"no torch network {case.torch_net!r}")
    model = model.to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=float(config["training"]["optimizer"]["lr"]))
    batch, n_train = int(config["training"]["batch_size"]), len(X)
    perm, pos = torch.randperm(n_train), 0

    def run(n: int) -> None:
        nonlocal perm, pos
        for _ in range(n):
            idx = perm[pos : pos + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
            loss.item()  # the engine records every step's loss
            pos += len(idx)
            if pos >= n_train:
                perm, pos = torch.randperm(n_train), 0

    return run


# --- timing ---------------------------------------------------------------------


def calibrate(run: Runner, seconds: float) -> int:
    """Steps that take about ``seconds``: double from 1 until a run takes a tenth of it."""
    n = 1
    while True:
        t0 = time.perf_counter()
        run(n)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds / 10 or n >= 1 << 22:
            return max(1, round(n * seconds / max(elapsed, 1e-9)))
        n *= 2


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(run: Runner, n: int, clock: Callable[[], float]) -> float:
    """Steps per second of one run of ``n`` steps."""
    t0 = clock()
    run(n)
    return n / max(clock() - t0, 1e-9)


@dataclass
class Row:
    case: Case
    batch: int
    ours: list[float] = field(default_factory=list)  # steps/s of each repeat
    torch: list[float] = field(default_factory=list)
    untraced: list[float] = field(default_factory=list)  # traced rows: the same net untraced, same repeat

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.case.key,
            "label": self.case.label,
            "trace": self.case.trace,
            "batch": self.batch,
            "note": self.case.note,
            "steps_per_s": _stats(self.ours),
            "examples_per_s": _stats([s * self.batch for s in self.ours]),
        }
        if self.torch:
            out["torch_steps_per_s"] = _stats(self.torch)
            # each repeat times both engines back to back, so the median of the per-repeat ratios
            # cancels most of a neighbour's load, which drifts over seconds
            ratios = [a / b for a, b in zip(self.ours, self.torch, strict=True)]
            out["ratio_vs_torch"] = statistics.median(ratios)
            out["ratio_range"] = [min(ratios), max(ratios)]
        if self.untraced:
            # time of a traced step over the time of an untraced one, paired by repeat
            costs = [u / t for u, t in zip(self.untraced, self.ours, strict=True)]
            out["cost_vs_untraced"] = statistics.median(costs)
        return out


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(
    case: Case, repeats: int, seconds: float, reference: str | None, clock: Callable[[], float]
) -> Row:
    ours, batch = engine_runner(case)
    ours(3)  # warm-up: buffers, first-call costs
    n_ours = calibrate(ours, seconds)
    row = Row(case, batch)
    # (runner, steps per repeat, where its figures go), timed back to back in every repeat
    runs: list[tuple[Runner, int, list[float]]] = [(ours, n_ours, row.ours)]
    if case.baseline:
        untraced, _ = engine_runner(CASE_BY_KEY[case.baseline])
        untraced(3)
        runs.append((untraced, calibrate(untraced, seconds), row.untraced))
    if reference == "torch":
        theirs = torch_runner(case)
        theirs(3)
        runs.append((theirs, calibrate(theirs, seconds), row.torch))
    for r in range(repeats):
        for run, n, figures in runs if r % 2 == 0 else runs[::-1]:  # alternate who goes first
            figures.append(timed(run, n, clock))
    return row


# --- output ------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x / 1000:,.1f}k" if x >= 10_000 else f"{x:,.0f}"


def print_table(rows: list[Row]) -> None:
    with_torch = any(r.torch for r in rows)
    header = f"{'case':<46} {'steps/s median (min–max)':>30} {'examples/s':>12} {'µs/step':>8}"
    if with_torch:
        header += f" {'torch steps/s':>14} {'× torch':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        s = r.summary()
        sp = s["steps_per_s"]
        span = f"{_fmt(sp['median'])} ({_fmt(sp['min'])}–{_fmt(sp['max'])})"
        examples = _fmt(s["examples_per_s"]["median"])
        line = f"{r.case.label:<46} {span:>30} {examples:>12} {1e6 / sp['median']:>8.1f}"
        if r.torch:
            line += f" {_fmt(s['torch_steps_per_s']['median']):>14} {s['ratio_vs_torch']:>7.2f}×"
        note = r.case.note
        if r.untraced:
            note = f"{s['cost_vs_untraced']:.2f}× the time of an untraced step"
        print(line + (f"   ({note})" if note else ""))


def environment() -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "processor": _cpu_name(),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    for var in OPENBLAS_VARS:
        env[var] = os.environ.get(var)
    return env


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _unset_openblas_and_reexec() -> None:
    """Run this script again without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (never returns if any is set)."""
    present = [v for v in OPENBLAS_VARS if v in os.environ]
    if not present:
        print("--unset-openblas-env: neither variable is set, nothing to unset")
        return
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    env[_REEXEC_MARK] = ",".join(f"{v}={os.environ[v]}" for v in present)
    print(f"--unset-openblas-env: re-executing without {', '.join(present)}", flush=True)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reference", choices=["torch"], help="also run the same networks in PyTorch CPU")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure to PATH")
    parser.add_argument("--quick", action="store_true", help="a short smoke run: 2 tiny repeats per row")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per row (default 7)")
    parser.add_argument("--seconds", type=float, default=None, help="length of one repeat (default 0.25)")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall: elapsed time (default); cpu: this process's CPU time, which leaves out the time "
        "other processes held the cores (for a busy machine)",
    )
    parser.add_argument(
        "--only", nargs="*", metavar="KEY", help=f"rows to run: {', '.join(c.key for c in CASES)}"
    )
    parser.add_argument(
        "--unset-openblas-env",
        action="store_true",
        help="re-run without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only or ()) - set(CASE_BY_KEY))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(CASE_BY_KEY)}")

    if args.unset_openblas_env:
        _unset_openblas_and_reexec()
    for var in OPENBLAS_VARS:
        state = f"set to {os.environ[var]!r}" if var in os.environ else "not set"
        print(f"{var}: {state}")
    if os.environ.get(_REEXEC_MARK):
        print(f"(re-executed by --unset-openblas-env; removed {os.environ[_REEXEC_MARK]})")
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} (set before NumPy loads)")

    reference: str | None = args.reference
    if reference == "torch":
        try:
            import torch
        except ImportError:
            print("--reference torch: PyTorch is not installed; running our engine only")
            reference = None
        else:
            torch.set_num_threads(1)
            print(f"reference: PyTorch {torch.__version__} CPU, 1 thread")
    repeats = args.repeats or (2 if args.quick else 7)
    seconds = args.seconds or (0.01 if args.quick else 0.25)
    cases = [c for c in CASES if not args.only or c.key in args.only]
    env = environment()
    print(
        f"machine: {env['processor']}, {env['cpus']} CPUs; Python {env['python']}, NumPy {env['numpy']}; "
        f"{repeats} repeats of ~{seconds:g} s per row, {args.clock} clock, median (min–max)"
    )
    print()
    rows = [measure(case, repeats, seconds, reference, CLOCKS[args.clock]) for case in cases]
    print_table(rows)
    if args.json:
        payload = {
            "environment": env,
            "command": " ".join(["benchmarks/engine.py", *sys.argv[1:]]),
            "clock": args.clock,
            "repeats": repeats,
            "seconds": seconds,
            "rows": [r.summary() for r in rows],
        }
        if reference == "torch":
            import torch

            payload["environment"]["torch"] = torch.__version__
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
