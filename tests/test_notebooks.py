"""The notebooks in docs/notebooks run from top to bottom, in a real kernel, without errors."""

from pathlib import Path

import pytest

WIDGET = "application/vnd.jupyter.widget-view+json"
NOTEBOOKS = sorted((Path(__file__).parents[1] / "docs" / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_notebook_runs(path, tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="the notebook tools are not installed")
    nbclient = pytest.importorskip("nbclient", reason="the notebook tools are not installed")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the comparison chart and the run's panels"
    assert any("text/html" in o.get("data", {}) for o in outputs), "tables render as HTML"
    code = "".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    if "compare(" in code:  # compare shows a progress bar by default
        widgets = [o for o in outputs if WIDGET in o.get("data", {})]
        assert widgets, "progress bars render as widgets (tqdm.auto needs ipywidgets)"
