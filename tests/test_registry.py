import pytest

from avrobust.errors import ConfigError
from avrobust.models import ZOO, list_models
from avrobust.registry import Registry
from avrobust.specs import format_spec, parse_spec


def test_parse_spec_types_values():
    assert parse_spec("synth") == ("synth", {})
    name, opts = parse_spec("synth:classes=6,seconds=0.5,root=/a/b,flag=true")
    assert name == "synth" and opts == {"classes": 6, "seconds": 0.5, "root": "/a/b", "flag": True}
    assert parse_spec(format_spec(name, opts)) == (name, opts)


@pytest.mark.parametrize("spec", ["", ":a=1", "synth:classes", "synth:a=1,a=2", "synth:=3"])
def test_parse_spec_rejects_malformed(spec):
    with pytest.raises(ConfigError):
        parse_spec(spec)


def test_registry_unknown_name_lists_choices():
    reg: Registry[int] = Registry("widget")
    reg.register("one", aliases=("1",))(lambda: 1)
    assert reg.create("1") == 1
    with pytest.raises(ConfigError, match="unknown widget 'two'; valid choices: 1, one"):
        reg.create("two")
    with pytest.raises(ValueError, match="twice"):
        reg.register("1")(lambda: 2)


def test_registry_rejects_unknown_kwargs():
    reg: Registry[int] = Registry("widget")
    reg.register("w")(lambda size=1: size)
    with pytest.raises(ConfigError, match="unknown option\\(s\\) colour for widget 'w'; valid options: size"):
        reg.create("w", colour=2)


def test_zoo_has_the_papers_eight_models_with_aliases():
    names = list_models()
    assert len(names) == 8
    assert ZOO.canonical("RsR") == "resnet-sum-resnet"
    assert ZOO.canonical("AcV") == "alexnet-concat-vgg"
    assert list_models("resnet-*") == [n for n in list_models("all") if n.startswith("resnet-")]
    assert list_models("R[sc]R") == ["resnet-concat-resnet", "resnet-sum-resnet"]
    assert list_models("R?R") == ["resnet-bottleneck-resnet", "resnet-concat-resnet", "resnet-sum-resnet", "resnet-xattn-resnet"]
