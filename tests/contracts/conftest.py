import pytest
from support.evm import Chain
from support.nodes import make_home, start_node


@pytest.fixture(scope="module")
def evm_node(tmp_path_factory):
    """One real node process for a module's contract tests (blocks every 200 ms)."""
    home, listing = make_home(tmp_path_factory.mktemp("evm"), accounts=5)
    node = start_node(home)
    yield node, listing
    node.stop()


@pytest.fixture(scope="module")
def chain(evm_node):
    node, listing = evm_node
    return Chain(node.url, listing)
