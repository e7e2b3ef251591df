"""absl flags: DEFINE_* anywhere the script imports, config files, flags replaced before use."""

from __future__ import annotations

from flagtools import by_primary, in_repo, sniff, strings
from runall.plan.flags.model import JOINED


def test_define_calls_become_joined_options():
    flags = sniff('''
        from absl import app, flags
        flags.DEFINE_integer("epochs", 10, "Number of epochs.")
        flags.DEFINE_string(name="workdir", default=None, help="Directory to store model data.")
        flags.DEFINE_boolean("debug", False, "Debug mode.")
        flags.DEFINE_enum("mode", "train", ["train", "eval"], "What to do.")
        FLAGS = flags.FLAGS
        def main(argv):
            print(FLAGS.epochs)
        if __name__ == "__main__":
            app.run(main)
    ''')
    opts = by_primary(flags)
    assert flags.cli == "absl" and set(opts) == {"--epochs", "--workdir", "--debug", "--mode"}
    assert opts["--debug"].strings == ("--debug", "--nodebug") and not opts["--debug"].takes_value
    assert opts["--mode"].help == "What to do." and opts["--epochs"].syntax == JOINED


def test_flags_defined_in_an_imported_module_count(tmp_path):
    flags = in_repo(tmp_path, {
        "common_flags.py": "from absl import flags\nflags.DEFINE_integer('batch_size', 32, 'Batch size.')\n",
        "main.py": "from absl import app, flags\nimport common_flags\nflags.DEFINE_string('workdir', None, 'w')\n"
                   "def main(argv):\n    print(common_flags)\napp.run(main)\n"}, "main.py")
    assert strings(flags) == {"--workdir", "--batch_size"}


def test_config_file_flag_lists_the_default_configs_keys(tmp_path):
    flags = in_repo(tmp_path, {
        "configs/default.py": """
            import ml_collections
            def get_config():
                config = ml_collections.ConfigDict()
                config.batch_size = 128
                config.optim = ml_collections.ConfigDict()
                config.optim.lr = 0.1
                return config
        """,
        "main.py": """
            from absl import app, flags
            from ml_collections import config_flags
            config_flags.DEFINE_config_file("config", "configs/default.py", "File path to the training configuration.")
            app.run(lambda argv: None)
        """}, "main.py")
    assert strings(flags) == {"--config", "--config.batch_size", "--config.optim.lr"}


def test_a_flag_replaced_before_use_is_not_offered():
    flags = sniff('''
        from absl import app, flags
        flags.DEFINE_string("workdir", None, "Where to store log output.")
        flags.DEFINE_integer("batch_size", 8, "Batch size.")
        FLAGS = flags.FLAGS
        def main(argv):
            FLAGS.workdir = "/tmp/run"
            print(FLAGS.batch_size)
            FLAGS.batch_size = 16
        app.run(main)
    ''')
    assert strings(flags) == {"--batch_size"}
    assert any("--workdir" in n and "replaced" in n for n in flags.notes)
