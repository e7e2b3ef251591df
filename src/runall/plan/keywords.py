"""`-k EXPR`: a small boolean grammar over job ids and tags, in the manner of pytest (no eval).

    expr := term ("or" term)*      term := factor ("and" factor)*
    factor := "not" factor | "(" expr ")" | WORD
A WORD matches a job whose id contains it or that has it as a tag (case-insensitive).
"""

from __future__ import annotations

import re
from typing import Callable

from runall.errors import UsageError
from runall.model import Job

Predicate = Callable[[Job], bool]
_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match:
            break
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _word(word: str) -> Predicate:
    lowered = word.lower()
    return lambda job: lowered in job.id.lower() or any(lowered == t.lower() for t in job.tags)


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.position = 0

    def error(self, message: str) -> UsageError:
        return UsageError(f"{message} in {self.expression!r}", where="-k")

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end of expression")
        self.position += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r}")
        return predicate

    def expr(self) -> Predicate:
        left = self.term()
        while self.peek() == "or":
            self.take()
            right, first = self.term(), left
            left = lambda job, a=first, b=right: a(job) or b(job)
        return left

    def term(self) -> Predicate:
        left = self.factor()
        while self.peek() == "and":
            self.take()
            right, first = self.factor(), left
            left = lambda job, a=first, b=right: a(job) and b(job)
        return left

    def factor(self) -> Predicate:
        token = self.take()
        if token == "not":
            inner = self.factor()
            return lambda job: not inner(job)
        if token == "(":
            inner = self.expr()
            if self.take() != ")":
                raise self.error("missing ')'")
            return inner
        if token in (")", "and", "or"):
            raise self.error(f"unexpected {token!r}")
        return _word(token)


def compile_keywords(expression: str) -> Predicate:
    """A predicate for `-k EXPR`; a malformed expression is a usage error."""
    if not expression.strip():
        raise UsageError("empty expression", where="-k")
    return _Parser(expression).parse()
