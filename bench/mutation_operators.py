"""Extra mutation operators for the kata mutation gate: cosmic-ray `Operator`s over parso trees.

cosmic-ray's core operators change arithmetic, comparisons, booleans, numbers and loops. The
mistakes a learner makes with `nn.Module` are elsewhere: a wrong string key ("running_mean"), a
forgotten keyword argument (`persistent=False`, `unbiased=False`), a missing call
(`super().__init__()`, `register_buffer`, `.detach()`), a context manager left out
(`torch.no_grad()`), swapped arguments. The operators below make those mistakes.

Each operator follows cosmic-ray's protocol: `mutation_positions(node)` lists one
`(start, end)` position per mutation it can make at `node`, and `mutate(node, index)` returns the
node that replaces `node` (cosmic_ray.mutating.MutationVisitor walks the tree and applies the one
occurrence asked for). Every mutation keeps the code syntactically valid; bench/mutation.py still
compiles each mutant and drops the ones that do not compile.
"""

from __future__ import annotations

import parso
from cosmic_ray.operators.operator import Example, Operator
from parso.python.tree import Keyword
from parso.tree import BaseNode, Leaf, NodeOrLeaf

Position = tuple[tuple[int, int], tuple[int, int]]

# A no-op context manager that needs no import in the mutated module.
NULL_CONTEXT = '__import__("contextlib").nullcontext'
# Method calls whose removal leaves a chain that still runs: x.detach() -> x.
REMOVABLE_METHODS = frozenset({"detach", "clone", "contiguous"})
AUGMENTED_ASSIGNMENTS = frozenset({"+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", ">>=", "<<="})
# Statements ReplaceStatementWithPass leaves alone: imports, control flow, returns (ReturnNone's), `pass`,
# bare literals (docstrings); assignments (expr_stmt) are decided by _is_deletable_statement.
_STATEMENT_SKIP = frozenset(
    {
        "expr_stmt", "return_stmt", "import_name", "import_from", "pass_stmt", "del_stmt", "raise_stmt",
        "global_stmt", "nonlocal_stmt", "assert_stmt", "break_stmt", "continue_stmt", "string", "keyword",
        "newline", "operator", "number", "strings",
    }
)


def _span(node: NodeOrLeaf) -> Position:
    return (node.start_pos, node.end_pos)


def _leaf(value: str, like: NodeOrLeaf) -> Leaf:
    """A leaf `value` that takes the place of `like`, keeping its leading whitespace and comments."""
    return Keyword(value, like.start_pos, prefix=like.get_first_leaf().prefix)


def _fragment(code: str, like: NodeOrLeaf) -> NodeOrLeaf:
    """The expression `code` parsed, to take the place of `like` (same leading whitespace)."""
    node = parso.parse(code).children[0]
    node.get_first_leaf().prefix = like.get_first_leaf().prefix
    return node


# ---------------------------------------------------------------------------------------------
# Call arguments
# ---------------------------------------------------------------------------------------------


def _argument_list(node: NodeOrLeaf) -> list[NodeOrLeaf] | None:
    """The arguments (no commas) when `node` directly holds a call's argument list, else None.

    `f(a, b=1)` holds them in an `arglist`; in `f(b=1)` or `f(a)` the lone argument sits directly in
    the call's `trailer`.
    """
    if node.type == "arglist":
        return [child for child in node.children if not _is_comma(child)]
    if node.type == "trailer" and len(node.children) == 3 and getattr(node.children[0], "value", "") == "(":
        return None if node.children[1].type == "arglist" else [node.children[1]]
    return None


def _is_comma(node: NodeOrLeaf) -> bool:
    return isinstance(node, Leaf) and node.value == ","


def is_keyword_argument(node: NodeOrLeaf) -> bool:
    return node.type == "argument" and len(node.children) == 3 and getattr(node.children[1], "value", "") == "="


def is_positional_argument(node: NodeOrLeaf) -> bool:
    if node.type == "argument":
        return False  # keyword, *args, **kwargs or a generator expression
    return node.type != "star_expr"


def _keyword_arguments(node: NodeOrLeaf) -> list[NodeOrLeaf]:
    return [arg for arg in _argument_list(node) or () if is_keyword_argument(arg)]


def _remove_argument(holder: BaseNode, argument: NodeOrLeaf) -> None:
    """Remove `argument` and one comma next to it (the following one, else the preceding one)."""
    children = holder.children
    index = children.index(argument)
    if index + 1 < len(children) and _is_comma(children[index + 1]):
        del children[index : index + 2]
        if index < len(children):  # the next argument moves up: it takes the removed one's prefix
            children[index].get_first_leaf().prefix = argument.get_first_leaf().prefix
    elif index > 0 and _is_comma(children[index - 1]):
        del children[index - 1 : index + 1]
    else:
        del children[index]


class DropKeywordArgument(Operator):
    """Drop one keyword argument from a call: `f(x, dim=0)` -> `f(x)`."""

    def mutation_positions(self, node: NodeOrLeaf) -> list[Position]:
        return [_span(argument) for argument in _keyword_arguments(node)]

    def mutate(self, node: BaseNode, index: int) -> BaseNode:
        _remove_argument(node, _keyword_arguments(node)[index])
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (
            Example("f(x, dim=0)", "f(x)"),
            Example("f(dim=0, keepdim=True)", "f(keepdim=True)"),
            Example("f(dim=0, keepdim=True)", "f(dim=0)", occurrence=1),
        )


class ReplaceKeywordValue(Operator):
    """Pass None for a keyword argument: `f(x, dtype=torch.long)` -> `f(x, dtype=None)`.

    True/False values are left to cosmic-ray's ReplaceTrueWithFalse / ReplaceFalseWithTrue, and
    numbers to its NumberReplacer.
    """

    def mutation_positions(self, node: NodeOrLeaf) -> list[Position]:
        if is_keyword_argument(node) and node.children[2].get_code().strip() not in ("None", "True", "False"):
            return [_span(node.children[2])]
        return []

    def mutate(self, node: BaseNode, index: int) -> BaseNode:
        node.children[2] = _leaf("None", node.children[2])
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("f(x, dtype=torch.long)", "f(x, dtype=None)"),)


class SwapPositionalArguments(Operator):
    """Swap a call's first two positional arguments: `f(a, b, c)` -> `f(b, a, c)`."""

    def mutation_positions(self, node: NodeOrLeaf) -> list[Position]:
        if node.type != "arglist" or node.parent is None or node.parent.type != "trailer":
            return []
        arguments = _argument_list(node) or []
        if len(arguments) < 2 or not all(is_positional_argument(a) for a in arguments[:2]):
            return []
        first, second = arguments[:2]
        if first.get_code(include_prefix=False) == second.get_code(include_prefix=False):
            return []  # f(x, x): swapping changes nothing
        return [(first.start_pos, second.end_pos)]

    def mutate(self, node: BaseNode, index: int) -> BaseNode:
        first, second = (_argument_list(node) or [])[:2]
        i, j = node.children.index(first), node.children.index(second)
        first_prefix, second_prefix = first.get_first_leaf().prefix, second.get_first_leaf().prefix
        node.children[i], node.children[j] = second, first
        second.get_first_leaf().prefix, first.get_first_leaf().prefix = first_prefix, second_prefix
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("f(a, b, c)", "f(b, a, c)"), Example("F.linear(x, w, b=1)", "F.linear(w, x, b=1)"))


# ---------------------------------------------------------------------------------------------
# String literals
# ---------------------------------------------------------------------------------------------


def _split_string(value: str) -> tuple[str, str, str]:
    """(prefix, quote, body) of a string literal's source, e.g. ('rb', '\"\"\"', 'text')."""
    head = 0
    while value[head] not in "'\"":
        head += 1
    prefix, rest = value[:head], value[head:]
    quote = rest[:3] if rest[:3] in ('"""', "'''") else rest[0]
    return prefix, quote, rest[len(quote) : -len(quote)]


class ReplaceStringLiteral(Operator):
    """Change a string literal: append "XX" (occurrence 0) or empty it (occurrence 1, if not empty).

    `"running_mean"` -> `"running_meanXX"` / `""`. f-strings are left alone (their text is
    mostly messages), and bench/mutation.py skips docstrings.
    """

    SUFFIX = "XX"

    def mutation_positions(self, node: NodeOrLeaf) -> list[Position]:
        if node.type != "string":
            return []
        empty = not _split_string(node.value)[2]
        return [_span(node)] * (1 if empty else 2)

    def mutate(self, node: Leaf, index: int) -> Leaf:
        prefix, quote, body = _split_string(node.value)
        node.value = prefix + quote + (body + self.SUFFIX if index == 0 else "") + quote
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (
            Example('x = "fan_in"', 'x = "fan_inXX"'),
            Example('x = "fan_in"', 'x = ""', occurrence=1),
            Example("x = b'a'", "x = b'aXX'"),
        )


# ---------------------------------------------------------------------------------------------
# Deleted calls and statements
# ---------------------------------------------------------------------------------------------


def _is_deletable_statement(node: NodeOrLeaf) -> bool:
    """A statement whose deletion leaves the program valid and changes what it does: an expression
    (`f(x)`, `x.y()`, `yield v`), an augmented assignment (`n += 1`), or an assignment to an attribute
    or an item (`module.training = flag`, `d[k] = v`). Assignments to plain names are left alone:
    deleting one is a NameError, which every spec catches."""
    if node.parent is None or node.parent.type != "simple_stmt":
        return False
    if node.type == "expr_stmt":
        if len(node.children) != 3:
            return False
        operator = getattr(node.children[1], "value", "")
        return operator in AUGMENTED_ASSIGNMENTS or (operator == "=" and _is_attribute_or_item(node.children[0]))
    return node.type not in _STATEMENT_SKIP


def _is_attribute_or_item(target: NodeOrLeaf) -> bool:
    if target.type not in ("atom_expr", "power") or target.children[-1].type != "trailer":
        return False
    return target.children[-1].children[0].value in (".", "[")


class ReplaceStatementWithPass(Operator):
    """Replace a statement with `pass`: `super().__init__()`, `n += 1`, `self.eps = eps` -> `pass`."""

    def mutation_positions(self, node: NodeOrLeaf) -> list[Position]:
        return [_span(node)] if _is_deletable_statement(node) else []

    def mutate(self, node: NodeOrLeaf, index: int) -> Leaf:
        return _leaf("pass", node)

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (
            Example("def f():\n    super().__init__()\n", "def f():\n    pass\n"),
            Example("n += 1\n", "pass\n"),
            Example("self.eps = eps\n", "pass\n"),
        )


def _removable_calls(node: NodeOrLeaf) -> list[int]:
    """Indexes, in an `atom_expr` (a chain like `x.detach().clone()`), of each `.name` trailer
    followed by an empty call `()` whose name is in REMOVABLE_METHODS."""
    if node.type not in ("atom_expr", "power"):
        return []
    children = node.children
    found = []
    for i in range(1, len(children) - 1):
        name, call = children[i], children[i + 1]
        if (
            name.type == "trailer" and name.children[0].value == "." and name.children[1].value in REMOVABLE_METHODS
            and call.type == "trailer" and call.get_code(include_prefix=False).replace(" ", "") == "()"
        ):
            found.append(i)
    return found


class RemoveMethodCall(Operator):
    """Remove a `.detach()`, `.clone()` or `.contiguous()` from a chain: `x.detach().cpu()` -> `x.cpu()`."""

    def mutation_positions(self, node: NodeOrLeaf) -> list[Position]:
        return [(node.children[i].start_pos, node.children[i + 1].end_pos) for i in _removable_calls(node)]

    def mutate(self, node: BaseNode, index: int) -> NodeOrLeaf:
        i = _removable_calls(node)[index]
        del node.children[i : i + 2]
        if len(node.children) == 1:
            return node.children[0]
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (
            Example("y = x.detach()", "y = x"),
            Example("y = x.detach().clone()", "y = x.clone()"),
            Example("y = x.detach().clone()", "y = x.detach()", occurrence=1),
        )


def _with_items(node: NodeOrLeaf) -> list[NodeOrLeaf]:
    """The items of a `with` statement: each context expression, or `expr as target` node."""
    if node.type != "with_stmt":
        return []
    items = []
    for child in node.children[1:]:
        if isinstance(child, Leaf) and child.value == ":":
            break
        if not _is_comma(child):
            items.append(child)
    return items


class ReplaceWithNullContext(Operator):
    """Make a with-item do nothing: `with torch.no_grad():` -> `with contextlib.nullcontext():`.

    `with cm as x:` becomes `with nullcontext(cm) as x:`, so `x` is the object that was never
    entered. The null context is spelled `__import__("contextlib").nullcontext` (no import needed).
    """

    def mutation_positions(self, node: NodeOrLeaf) -> list[Position]:
        return [_span(item) for item in _with_items(node)]

    def mutate(self, node: BaseNode, index: int) -> BaseNode:
        item = _with_items(node)[index]
        if item.type == "with_item":  # `expr as target`
            context = item.children[0]
            item.children[0] = _fragment(f"{NULL_CONTEXT}({context.get_code(include_prefix=False)})", context)
        else:
            node.children[node.children.index(item)] = _fragment(f"{NULL_CONTEXT}()", item)
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (
            Example("with torch.no_grad():\n    pass\n", f"with {NULL_CONTEXT}():\n    pass\n"),
            Example("with open(p) as f:\n    pass\n", f"with {NULL_CONTEXT}(open(p)) as f:\n    pass\n"),
        )


class ReturnNone(Operator):
    """Return None instead of the value: `return x @ w` -> `return None`."""

    def mutation_positions(self, node: NodeOrLeaf) -> list[Position]:
        if node.type == "return_stmt" and node.children[1].get_code().strip() != "None":
            return [_span(node.children[1])]
        return []

    def mutate(self, node: BaseNode, index: int) -> BaseNode:
        node.children[1] = _leaf("None", node.children[1])
        return node

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("def f():\n    return x\n", "def f():\n    return None\n"),)


EXTRA_OPERATORS: dict[str, type[Operator]] = {
    f"kata/{op.__name__}": op
    for op in (
        ReplaceStringLiteral,
        DropKeywordArgument,
        ReplaceKeywordValue,
        ReplaceStatementWithPass,
        RemoveMethodCall,
        ReplaceWithNullContext,
        ReturnNone,
        SwapPositionalArguments,
    )
}
