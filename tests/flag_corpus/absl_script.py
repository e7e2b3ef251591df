from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("epochs", 10, "Number of training epochs.")
flags.DEFINE_integer("batch_size", 128, "Batch size.")
flags.DEFINE_string("model_dir", "/tmp/model", "Where checkpoints go.")
flags.DEFINE_integer("seed", 0, "Random seed.")


def main(argv):
    del argv
    print(FLAGS.epochs, FLAGS.batch_size, FLAGS.model_dir, FLAGS.seed)


if __name__ == "__main__":
    app.run(main)
