"""Configurators: nanoGPT's exec'd configurator and minGPT's configuration objects."""

from __future__ import annotations

from flagtools import by_primary, in_repo, strings
from runall.plan.flags.model import JOINED
from runall.plan.flags.roles import roles_for

CONFIGURATOR = """
    import sys
    for arg in sys.argv[1:]:
        key, val = arg.split("=")
        globals()[key[2:]] = val
"""


def test_globals_before_the_exec_become_joined_options(tmp_path):
    flags = in_repo(tmp_path, {"configurator.py": CONFIGURATOR, "train.py": """
        import os
        out_dir = "out"
        batch_size = 12
        max_iters = 600000
        compile = True
        _private = 1
        device = "cuda" if os.environ.get("X") else "cpu"
        exec(open("configurator.py").read())
        late = 3
    """}, "train.py")
    opts = by_primary(flags)
    assert flags.cli == "configurator" and set(opts) == {"--out_dir", "--batch_size", "--max_iters", "--compile"}
    assert all(o.syntax == JOINED for o in flags.options) and opts["--batch_size"].default == 12
    assert roles_for(flags)["output_dir"] == "--out_dir" and roles_for(flags)["epochs"] is None


def test_exec_of_a_plain_settings_file_is_no_command_line(tmp_path):
    flags = in_repo(tmp_path, {"settings.py": "lr = 0.1\n", "train.py": "lr = 1\nexec(open('settings.py').read())\n"},
                    "train.py")
    assert flags.cli == "none"


def test_a_configuration_object_merged_from_argv(tmp_path):
    flags = in_repo(tmp_path, {
        "lib/__init__.py": "",
        "lib/utils.py": """
            class CfgNode:
                def __init__(self, **kwargs):
                    self.__dict__.update(kwargs)
                def merge_from_args(self, args):
                    for arg in args:
                        key, val = arg.split("=")
        """,
        "lib/trainer.py": """
            from lib.utils import CfgNode as CN
            class Trainer:
                @staticmethod
                def get_default_config():
                    C = CN()
                    C.batch_size = 64
                    C.max_iters = None
                    return C
        """,
        "project/train.py": """
            import sys
            from lib.trainer import Trainer
            from lib.utils import CfgNode as CN
            def get_config():
                C = CN()
                C.system = CN()
                C.system.seed = 3407
                C.system.work_dir = "./out/chargpt"
                C.trainer = Trainer.get_default_config()
                return C
            if __name__ == "__main__":
                config = get_config()
                config.merge_from_args(sys.argv[1:])
        """}, "project/train.py")
    assert strings(flags) == {"--system.seed", "--system.work_dir", "--trainer.batch_size", "--trainer.max_iters"}
    roles = roles_for(flags)
    assert (roles["seed"], roles["output_dir"], roles["batch_size"]) == \
        ("--system.seed", "--system.work_dir", "--trainer.batch_size")
