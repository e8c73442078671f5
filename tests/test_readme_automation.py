"""The README's example automation is one Prefect accepts, and it matches the events the flow emits."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT


def _readme_automation() -> dict[str, object]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# newsdigest-alerts.yaml.*?)```", text, re.DOTALL)
    assert len(blocks) == 1, "README.md should hold one newsdigest-alerts.yaml example"
    document = yaml.safe_load(blocks[0])
    assert isinstance(document, dict)
    return document


def test_the_readme_automation_validates_and_expects_the_flows_events() -> None:
    from prefect.automations import Automation

    automation = Automation.model_validate(_readme_automation())
    flow_source = (ROOT / "src" / "newsdigest" / "flow.py").read_text(encoding="utf-8")
    emitted = set(re.findall(r'event="(newsdigest\.[a-z.]+)"', flow_source))
    assert emitted == {"newsdigest.source.failed", "newsdigest.email.failed"}
    assert automation.trigger.expect == emitted  # type: ignore[union-attr]
    assert [action.type for action in automation.actions] == ["send-notification"]
