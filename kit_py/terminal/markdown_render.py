"""How an answer's markdown looks: rich's Markdown, with code blocks that can be copied and run.

rich draws a code block as a padded panel: a space before every line and spaces after it to the edge,
so Python copied from the terminal fails with IndentationError. Here a code block is just its lines,
syntax-highlighted on the terminal's own background. A top-level code line wider than the terminal is
not broken by rich (the terminal wraps it, and copying gives the line back whole); inside a list or a
quote it wraps to the item's width. Printed markdown also loses the spaces rich pads every line with
up to the right edge. Imported lazily: rich.markdown pulls in markdown-it and pygments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markdown import CodeBlock as RichCodeBlock
from rich.markdown import Markdown, MarkdownElement
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax

if TYPE_CHECKING:
    from markdown_it.token import Token
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult


class CodeBlock(RichCodeBlock):
    """A fenced or indented code block: highlighted lines, no padding, no background fill."""

    top_level = True

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> CodeBlock:
        block = cls((token.info or "").partition(" ")[0] or "text", markdown.code_theme)
        block.top_level = token.level == 0
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        text = Syntax(code, self.lexer_name, theme=self.theme, background_color="default").highlight(code)
        text.rstrip()  # highlight() ends with a newline
        if self.top_level:
            text.no_wrap, text.overflow = True, "ignore"
        else:
            text.no_wrap = False
        yield text


class KitMarkdown(Markdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": CodeBlock,
        "code_block": CodeBlock,
    }


def markdown(text: str, code_theme: str) -> KitMarkdown:
    return KitMarkdown(text, code_theme=code_theme)


class _Trimmed:
    """A renderable's lines without the blank cells rich pads them with up to the right edge."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in Segment.split_lines(console.render(self.renderable, options)):
            yield from _rstrip(line)
            yield Segment.line()


def trimmed_lines(console: Console, renderable: RenderableType) -> list[list[Segment]]:
    """The renderable's lines, each cut to the width, without the blank cells at their ends."""
    return [_rstrip(line) for line in console.render_lines(renderable, pad=False)]


def _rstrip(line: list[Segment]) -> list[Segment]:
    """`line` without trailing spaces, except spaces with a visible background."""
    while line:
        last = line[-1]
        style = last.style
        if last.control or (style is not None and (style.reverse or not _transparent(style))):
            break
        text = last.text.rstrip(" ")
        if text:
            line[-1] = Segment(text, last.style)
            break
        line.pop()
    return line


def _transparent(style: Style) -> bool:
    return style.bgcolor is None or style.bgcolor.is_default


def print_markdown(console: Console, rendered: KitMarkdown) -> None:
    """Print finished markdown. crop=False: a long top-level code line goes out whole, for the terminal
    to wrap (every other line is already within the width)."""
    console.print(_Trimmed(rendered), crop=False)


def top_level_blocks(tokens: list[Token]) -> list[Token]:
    """The tokens that open (or are) a top-level block, with the lines each one starts on (`map`)."""
    return [t for t in tokens if t.level == 0 and t.nesting >= 0 and t.map is not None]


_LEAF_BLOCKS = frozenset({"paragraph_open", "heading_open", "fence", "code_block", "hr", "html_block"})


def needs_blank_line(previous_type: str, next_type: str) -> bool:
    """Whether rich puts a blank line between two top-level blocks of one document, for printing them
    apart: one before each block, except after a rule (rich draws one under it). A list, quote or table
    brings its own, even at the top of a document, so printed alone it already has it."""
    return previous_type != "hr" and next_type in _LEAF_BLOCKS
