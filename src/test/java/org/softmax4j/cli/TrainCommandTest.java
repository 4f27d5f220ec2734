package org.softmax4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train command end to end: its options, the accuracy it reaches, its exit codes and its chart. */
class TrainCommandTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();

    private int train(String... args) {
        outBytes.reset();
        errBytes.reset();
        return TrainCommand.run(List.of(args), new PrintStream(outBytes, true, StandardCharsets.UTF_8),
                new PrintStream(errBytes, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return outBytes.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void badOptionsExitWithTwoAndNameTheOptionAndWhatItExpects() {
        String[][] cases = {
            {"--model", "cnn", "--model must be softmax, mlp or both, was 'cnn'"},
            {"--epochs", "0", "--epochs must be an integer in [1, 100000], was '0'"},
            {"--epochs", "ten", "--epochs must be an integer in [1, 100000], was 'ten'"},
            {"--batch", "-4", "--batch must be an integer in [1, 1000000], was '-4'"},
            {"--lr", "0", "--lr must be a positive number, was '0'"},
            {"--lr", "fast", "--lr must be a number, was 'fast'"},
            {"--optimizer", "rmsprop", "--optimizer must be sgd or adam, was 'rmsprop'"},
            {"--momentum", "1", "--momentum must be a number in [0, 1), was '1'"},
            {"--hidden", "0", "--hidden must be an integer in [1, 100000], was '0'"},
            {"--seed", "1.5", "--seed must be an integer, was '1.5'"},
            {"--progress", "fancy", "--progress must be auto, bar or log, was 'fancy'"},
            {"--png", "", "--png must be a file name, was empty"},
            {"--verbose", "1", "unknown option '--verbose'"},
        };
        for (String[] c : cases) {
            assertEquals(2, train(c[0], c[1]), String.join(" ", c));
            assertTrue(err().contains("softmax4j train: " + c[2]), err());
            assertTrue(err().contains("usage: train"), err());
            assertEquals("", out(), "nothing runs before the options are checked");
        }
        assertEquals(2, train("--epochs"));
        assertTrue(err().contains("--epochs needs a value"), err());
        assertEquals(2, train("mlp"));
        assertTrue(err().contains("unexpected argument 'mlp'"), err());
    }

    @Test
    void bothModelsReachTheRequiredAccuracyAndTheChartIsDrawn() throws Exception {
        Path png = dir.resolve("curves.png");
        int status = train("--epochs", "20", "--png", png.toString(), "--progress", "log");
        assertEquals(0, status, out() + err());
        for (String model : List.of("softmax", "mlp")) {
            String line = out().lines().filter(l -> l.startsWith(model + " ")).findFirst().orElseThrow();
            double accuracy = Double.parseDouble(line.replaceAll(".*accuracy ([0-9.]+)%.*", "$1"));
            assertTrue(accuracy >= 95, line);
            assertEquals(20, err().lines().filter(l -> l.startsWith(model + " ") && l.contains("test accuracy")).count(),
                    "one log line per epoch:\n" + err());
        }
        assertTrue(!err().contains("\r"), "a log has no redrawn bars");

        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(TrainChart.WIDTH, image.getWidth());
        assertEquals(TrainChart.HEIGHT, image.getHeight());
        Set<Integer> colours = new HashSet<>();
        int notWhite = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                if (rgb != 0xffffff) {
                    notWhite++;
                }
            }
        }
        assertTrue(notWhite > 5_000, "axes, text and curves are drawn: " + notWhite + " pixels");
        // The two series colours appear (the anti-aliased edges add shades, the cores are exact).
        assertTrue(colours.contains(0x1f77b4) && colours.contains(0xff7f0e), "both curves are drawn");
    }

    @Test
    void aModelBelowNinetyFivePercentFailsTheCommandWithExitOne() {
        // One epoch at a tiny learning rate barely moves the initial weights.
        int status = train("--model", "softmax", "--epochs", "1", "--lr", "1e-5", "--optimizer", "sgd",
                "--momentum", "0", "--png", dir.resolve("low.png").toString(), "--progress", "log");
        assertEquals(1, status, out() + err());
        assertTrue(err().contains("softmax4j train: softmax reached ") && err().contains("below the required 95%"),
                err());
    }

    @Test
    void aTerminalGetsABarRedrawnInPlace() {
        int status = train("--model", "softmax", "--epochs", "1", "--batch", "500", "--png",
                dir.resolve("bar.png").toString(), "--progress", "bar");
        assertEquals(1, status, "one epoch is not enough; only the bar is checked here");
        assertTrue(err().contains("\rsoftmax epoch 1/1 [" + "=".repeat(10) + " ".repeat(20) + "] 1/3"), err());
        assertTrue(err().contains("\rsoftmax epoch 1/1  train loss "), err());
    }

    @Test
    void theSameSeedTrainsTheSameModel() {
        TrainOptions options = TrainOptions.defaults();
        DigitsSplit split = DigitsSplit.of(DigitsData.load());
        TrainOptions shortRun = new TrainOptions(options.models(), 2, 64, Double.NaN, "adam", 0.9, 16, 7,
                dir.resolve("unused.png"), TrainOptions.Progress.LOG);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Trainer.History a = TrainCommand.trainOne("mlp", shortRun, split, quiet);
        Trainer.History b = TrainCommand.trainOne("mlp", shortRun, split, quiet);
        assertEquals(a.trainLoss()[1], b.trainLoss()[1]);
        assertEquals(a.testAccuracy()[1], b.testAccuracy()[1]);
    }
}
