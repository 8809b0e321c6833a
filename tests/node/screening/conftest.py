"""A small screening model trained at test time on a slice of ../shared/fraud (seconds, not minutes).

The slice: every payment of the first SLICE_CUSTOMERS simulated customers over the four months,
so the time split (train / label gap / calibrate / report) has data in each period.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from support.nodes import make_home, start_node

from genesis.builder import enable_screening
from node.screening.training import TrainOptions, train_handbook

SHARED_FRAUD = Path(__file__).resolve().parents[4] / "shared" / "fraud"
HANDBOOK = SHARED_FRAUD / "handbook_sim_train_2018-04-01_2018-07-31.csv.gz"
ULB = SHARED_FRAUD / "ulb_creditcard_subset_day1.csv"
SLICE_CUSTOMERS = 150


def cut_slice(out: Path, customers: int = SLICE_CUSTOMERS) -> Path:
    if not HANDBOOK.exists():
        pytest.skip(f"{HANDBOOK} is not there (shared data lives beside the repository)")
    with gzip.open(HANDBOOK, "rt", newline="") as source, open(out, "w", newline="") as target:
        reader, writer = csv.reader(source), csv.writer(target)
        header = next(reader)
        writer.writerow(header)
        column = header.index("CUSTOMER_ID")
        for row in reader:
            if int(row[column]) < customers:
                writer.writerow(row)
    return out


@pytest.fixture(scope="session")
def handbook_slice(tmp_path_factory) -> Path:
    return cut_slice(tmp_path_factory.mktemp("fraud-data") / "slice.csv")


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, handbook_slice) -> Path:
    out = tmp_path_factory.mktemp("fraud-model") / "model"
    train_handbook(handbook_slice, out, TrainOptions(rf_max_samples=20_000))
    return out


def with_thresholds(model: Path, out: Path, hold_ppm: int, reject_ppm: int | None) -> Path:
    """A copy of `model` with other thresholds (a different model: its hash changes)."""
    shutil.copytree(model, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["thresholds"].update({"hold_ppm": hold_ppm, "reject_ppm": reject_ppm})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


@pytest.fixture
def screening_node(tmp_path, small_model):
    """A running node whose genesis pins a model that holds at 0.3 and rejects at 0.97."""
    model = with_thresholds(small_model, tmp_path / "model", 300_000, 970_000)
    home, listing = make_home(tmp_path)
    enable_screening(home, model, hold_expiry_seconds=3, label_delay_seconds=0)
    node = start_node(home)
    yield node, listing, home
    node.stop()
