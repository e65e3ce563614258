"""The detail pane's HTML: Markdown, readable LaTeX, MCQ options with the answer marked, conversations."""

from __future__ import annotations

import json

from deepones_gui.workspaces.data.render import latex_to_html, markdown_html, sample_html


def test_latex_becomes_readable_unicode():
    out = latex_to_html(r"\mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right) \alpha \in \mathbb{R}")
    assert out == "softmax((QK<sup>⊤</sup>)⁄(√(d<sub>k</sub>))) α ∈ ℝ"


def test_markdown_keeps_math_away_from_emphasis():
    html = markdown_html(r"**Loss**: $x_i$ and $y_i$ with $$\sum_i x_i$$ and `code_here`")
    assert "<strong>Loss</strong>" in html
    assert "x<sub>i</sub>" in html and "<em>" not in html
    assert "<div class='math'>∑<sub>i</sub> x<sub>i</sub></div>" in html
    assert "<code>code_here</code>" in html


def base(**kw):
    row = {"id": 7, "kind": "instruction", "category": "reasoning", "status": "accepted", "dataset": "d",
           "instruction": "Why?", "input": "", "output": "Because.", "system": None, "history": None,
           "options": None, "answer": None, "note": "", "tags": [], "source_file": "f.jsonl", "source_line": 3,
           "content_hash": "abc"}
    row.update(kw)
    return row


def test_mcq_marks_the_correct_option():
    html = sample_html(base(kind="mcq", options=json.dumps({"A": "ReLU", "B": "Adam"}), answer="B",
                            instruction="Which is an optimiser?", output="B. Adam"))
    assert "✔ B." in html and "correct" in html and "ReLU" in html
    assert "<h3>Answer</h3>" not in html


def test_conversation_system_tags_and_note():
    html = sample_html(base(system="Be brief.", history=json.dumps([["What is Adam?", "An optimiser."]]),
                            tags=["gold"], note="check <b>me</b>"))
    assert "Conversation so far" in html and "What is Adam?" in html and "Be brief." in html
    assert "gold" in html and "check &lt;b&gt;me&lt;/b&gt;" in html
    assert "f.jsonl:3" in html


def test_table_snippets_keep_the_match_visible_and_escape_html():
    from deepones_gui.workspaces.data.snippet_delegate import snippet_html

    out = snippet_html("a <b> very long lead in text before the actual \x02match\x03 here")
    assert out.startswith("…") and "match</span>" in out and "<b>" not in out
    assert out.startswith("…before the actual <span")


def test_detail_highlights_search_words_in_text_not_tags():
    from deepones_gui.workspaces.data.render import highlight_words

    out = highlight_words("<p class='residual'>Residual blocks and residuals</p>", ["resid"])
    assert out.count("background:#fff176") == 2 and "class='residual'" in out
