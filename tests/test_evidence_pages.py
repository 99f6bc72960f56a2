"""The Evidence pages' text, without Evidence: escaping, one component per declared chart, the pins.
(tests/test_evidence.py builds the project with Evidence and reads it in Chromium.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reports.evidence.charts import EVIDENCE_CHARTS, chart_markup
from reports.evidence.project import EVIDENCE_PACKAGES, connection_yaml, evidence_text, package_json
from reports.pages import PAGES


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("File not found: <path>", "File not found: &lt;path&gt;"),
        ("a {b} & c", "a &#123;b&#125; &amp; c"),
        # mdsvex escapes code spans itself: escaped again, they would show the entities.
        ("`/conversations?cluster=<cluster_id>` lists <n>", "`/conversations?cluster=<cluster_id>` lists &lt;n&gt;"),
        ("an odd ` stays text <a>", "an odd ` stays text &lt;a&gt;"),
    ],
)
def test_prose_is_text_to_svelte(text, written):
    assert evidence_text(text) == written


def test_every_declared_chart_kind_has_an_evidence_component():
    kinds = {s.chart_spec["kind"] for page in PAGES for s in page.sections if s.chart_spec}
    assert kinds <= set(EVIDENCE_CHARTS)
    for page in PAGES:
        for section in page.sections:
            if section.chart_spec is None:
                continue
            markup = chart_markup(section.query_name, section.chart_spec)
            component = re.search(r"^<(BarChart|LineChart|Heatmap)\n    data=\{(\w+)\}", markup, flags=re.M)
            assert component, section.query_name
            bound = component.group(2)
            # Bound to the section's query, or to a query derived from it in the same text.
            assert bound == section.query_name or (
                f"```sql {bound}\n" in markup and f"${{{section.query_name}}}" in markup
            )
            assert f'title="{section.chart_spec["title"]}' in markup


def test_an_unknown_chart_kind_is_named():
    with pytest.raises(ValueError, match="pie"):
        chart_markup("q", {"kind": "pie"})


def test_attribute_values_cannot_break_out_of_the_tag():
    markup = chart_markup("q", {"kind": "line", "x": "a", "y": "b", "group": "c", "title": 'say "hi" {x}',
                                "xlabel": "x", "ylabel": "y"})
    assert 'title="say &quot;hi&quot; &#123;x&#125;"' in markup


def test_package_json_pins_the_proven_versions():
    package = package_json("reports")
    assert package["dependencies"] == EVIDENCE_PACKAGES
    assert package["devDependencies"]["typescript"].startswith("5.")
    assert package["scripts"]["postinstall"] == "patch-package"
    json.dumps(package)


def test_the_connection_names_the_warehouse_relative_to_the_source_folder(tmp_path):
    db = tmp_path / "data" / "my warehouse.duckdb"
    source_dir = tmp_path / "site" / "sources" / "warehouse"
    source_dir.mkdir(parents=True)
    text = connection_yaml(db, source_dir)
    filename = json.loads(re.search(r"filename: (.+)", text).group(1))
    assert not Path(filename).is_absolute()
    assert (source_dir / filename).resolve() == db.resolve()
