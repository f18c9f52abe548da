"""Core raises codes and plain sentences; the faces word them. A sentence in core that
names a slash command would be wrong for the REST API and the command line, and would go
stale when the bot's commands change."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot.cogs.sms import SmsCog
from bot.cogs.support import SupportCog

CORE = Path(__file__).resolve().parents[2] / "core"
GROUPS = [SmsCog.__cog_group_name__, SupportCog.__cog_group_name__]
# "/support assign", "`/sms`"; not a URL path such as Infobip's "/sms/3/messages"
GROUP_NAMES = "|".join(re.escape(str(g)) for g in GROUPS)
SLASH_COMMAND = re.compile(rf"(?<![\w/])/(?:{GROUP_NAMES})(?![\w/])")


def sentences(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants that are not docstrings (those document, they are never shown)."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_no_sentence_in_core_names_a_slash_command():
    found = [f"{path.relative_to(CORE.parent)}:{line}: {text!r}"
             for path in sorted(CORE.rglob("*.py"))
             for line, text in sentences(ast.parse(path.read_text(), str(path)))
             if SLASH_COMMAND.search(text)]
    assert found == []
