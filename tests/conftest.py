import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.nodes import make_home, start_node

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def node_home(tmp_path):
    return make_home(tmp_path)


@pytest.fixture
def running_node(node_home):
    home, listing = node_home
    node = start_node(home)
    yield node, listing
    node.stop()
