"""Mistake: only lists and tuples are searched for modules; a plain dict of modules is missed."""


from kata_runner.testing import solution

EXPECT = "plain dict"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["unregistered"] = [
        name for name in result["unregistered"]
        if not isinstance(module.get_submodule(name.rpartition(".")[0]).__dict__[name.rpartition(".")[2]], dict)
    ]
    return result
