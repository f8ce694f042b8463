"""A self-contained HTML report: inline CSS and SVG charts, no scripts, no external requests.

Every piece of text from the run (replies, tool results, dialogue ids) is HTML-escaped:
a reply that contains markup must show as text, never run in the reader's browser.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d232a;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .7rem;border-bottom:1px solid #eee;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}.pass{color:#16794a}.fail{color:#b3261e}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #dde;border-radius:8px;padding:.6rem 1rem}
.card b{display:block;font-size:1.4rem}details{border:1px solid #e4e4ea;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
summary{cursor:pointer}.turn{border-left:3px solid #cfd6e4;margin:.5rem 0;padding-left:.7rem}
.user{color:#3a4a8c}.reply{white-space:pre-wrap}pre{background:#f6f7f9;padding:.4rem;overflow-x:auto;white-space:pre-wrap;font-size:12px}
.why{color:#b3261e}svg text{font:12px system-ui,sans-serif}
"""


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def _secs(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f} s"


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


def bar_chart(title: str, rows: list[tuple[str, float]], width: int = 640) -> str:
    """Horizontal bars of values in 0..1, labelled; an inline SVG string."""
    bar_h, gap, label_w = 20, 6, 170
    height = len(rows) * (bar_h + gap) + 30
    inner = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 20 + i * (bar_h + gap)
        value = max(0.0, min(1.0, value))
        color = "#16794a" if value >= 0.8 else "#c98a00" if value >= 0.5 else "#b3261e"
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{inner}" height="{bar_h}" fill="#eef0f4"/>')
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{inner * value:.1f}" height="{bar_h}" fill="{color}"/>'
        )
        parts.append(f'<text x="{label_w + inner + 6}" y="{y + 14}">{100 * value:.0f}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def _transcript(trial: dict[str, Any]) -> str:
    out = []
    failures = trial.get("failures", [])
    if failures:
        out.append("<ul>")
        for f in failures:
            turn = "" if f.get("turn") is None else f" (turn {int(f['turn']) + 1})"
            out.append(
                f'<li class="why">{escape(str(f.get("check")))}{turn}: {escape(str(f.get("reason", "")))}</li>'
            )
        out.append("</ul>")
    for index, turn in enumerate(trial.get("turns", []), start=1):
        out.append('<div class="turn">')
        out.append(f'<div class="user"><b>{index}. shopper:</b> {escape(str(turn.get("user", "")))}</div>')
        for call in turn.get("tool_calls", []):
            args = json.dumps(call.get("arguments"), ensure_ascii=False)
            body = call.get("error") or json.dumps(
                call.get("result"), ensure_ascii=False, indent=1, default=str
            )
            label = "error" if call.get("error") else "result"
            out.append(
                f"<details><summary>tool {escape(str(call.get('name')))}({escape(args)})</summary>"
                f"<pre>{label}: {escape(str(body))}</pre></details>"
            )
        out.append(f'<div class="reply"><b>agent:</b> {escape(str(turn.get("reply", "")))}</div>')
        if turn.get("error"):
            out.append(f'<div class="why">error: {escape(str(turn["error"]))}</div>')
        out.append("</div>")
    return "".join(out)


def render(report: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    d = report.get("dialogues", {})
    r = report.get("retrieval", {})
    t = report.get("tokens", {})
    lat = report.get("latency_s", {}).get("per_turn", {})
    title = f"shopagent eval: {report.get('suite', '')} with {report.get('model', '')}"
    html = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1><p>{escape(str(report.get('created_at', '')))}</p>",
        "<div class='cards'>",
        f"<div class='card'>pass^1<b>{_pct(d.get('pass^1'))}</b></div>",
        f"<div class='card'>pass^k, all {escape(str(d.get('k', 1)))} trials<b>{_pct(d.get('pass^k'))}</b></div>",
        f"<div class='card'>dialogues<b>{escape(str(d.get('total', 0)))}</b></div>",
        f"<div class='card'>retrieval recall@5<b>{_pct(r.get('recall@5'))}</b></div>",
        f"<div class='card'>MRR<b>{_num(r.get('mrr'))}</b></div>",
        f"<div class='card'>tokens<b>{escape(str(t.get('prompt', 0)))} + {escape(str(t.get('completion', 0)))}</b></div>",
        f"<div class='card'>turn latency p50 / p95<b>{_secs(lat.get('p50'))} / {_secs(lat.get('p95'))}</b></div>",
        "</div>",
    ]
    by_lang = d.get("by_lang", {})
    if by_lang:
        html.append("<h2>Pass rate per language (pass^1)</h2>")
        html.append(
            bar_chart("pass^1 per language", [(lang, float(v["pass^1"])) for lang, v in by_lang.items()])
        )
    checks = d.get("checks", {})
    if checks:
        html.append("<h2>Pass rate per check (share of trials where it held)</h2>")
        rows = [(name, 1 - v["failed"] / v["trials"]) for name, v in checks.items() if v.get("trials")]
        html.append(bar_chart("pass rate per check", rows))
    if r.get("by_lang"):
        html.append("<h2>Retrieval per language</h2><table><tr><th>lang</th><th>queries</th>")
        html.append("<th>recall@1</th><th>recall@5</th><th>recall@10</th><th>MRR</th></tr>")
        for lang, v in r["by_lang"].items():
            cells = "".join(
                f"<td class='num'>{_pct(v.get(m))}</td>" for m in ("recall@1", "recall@5", "recall@10")
            )
            html.append(
                f"<tr><td>{escape(lang)}</td><td class='num'>{escape(str(v.get('queries', '')))}</td>{cells}"
                f"<td class='num'>{_num(v.get('mrr'))}</td></tr>"
            )
        html.append("</table>")
    html.append(
        "<h2>Dialogues</h2><table><tr><th>id</th><th>lang</th><th>trials passed</th><th>failed checks</th></tr>"
    )
    results = d.get("results", [])
    for res in results:
        trials = res.get("trials", [])
        ok = sum(1 for tr in trials if tr.get("passed"))
        failed = sorted({f.get("check") for tr in trials for f in tr.get("failures", [])} - {None})
        css = "pass" if ok == len(trials) else "fail"
        html.append(
            f"<tr><td><a href='#d-{escape(res['id'])}'>{escape(res['id'])}</a></td><td>{escape(res.get('lang', ''))}</td>"
            f"<td class='num {css}'>{ok}/{len(trials)}</td><td>{escape(', '.join(map(str, failed)))}</td></tr>"
        )
    html.append("</table><h2>Failing transcripts</h2>")
    anchored: set[str] = set()
    for res in results:
        for trial in res.get("trials", []):
            if trial.get("passed"):
                continue
            anchor = "" if res["id"] in anchored else f" id='d-{escape(res['id'])}'"
            anchored.add(res["id"])
            html.append(
                f"<details{anchor}><summary class='fail'>{escape(res['id'])} "
                f"(trial {escape(str(trial.get('trial', 0) + 1))})</summary>{_transcript(trial)}</details>"
            )
    if not anchored:
        html.append("<p class='pass'>Every trial passed.</p>")
    judge = report.get("judge")
    if judge:
        html.append("<h2>LLM judge (reported apart from pass/fail)</h2>")
        html.append(
            f"<pre>{escape(json.dumps(judge.get('summary', judge), ensure_ascii=False, indent=1))}</pre>"
        )
    html.append("</body></html>")
    return "\n".join(html)
