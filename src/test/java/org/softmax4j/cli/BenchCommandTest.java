package org.softmax4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.softmax4j.cli.BenchCommand.BenchShape;
import org.softmax4j.cli.BenchCommand.Result;
import org.w3c.dom.Document;

/** The bench command's options, its time format and its chart; no timing is checked here. */
class BenchCommandTest {
    @Test
    void badOptionsAreRejectedBeforeAnyWork() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals(2, BenchCommand.run(List.of("--fast"), out, errStream));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown option '--fast'"), err.toString());
        err.reset();
        assertEquals(2, BenchCommand.run(List.of("--threads", "0"), out, errStream));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--threads: threads must be in [1, "), err.toString());
    }

    @Test
    void timesCarryTheirUnit() {
        assertEquals("19.5 ns", BenchCommand.time(19.5));
        assertEquals("6.5 us", BenchCommand.time(6_512));
        assertEquals("7.27 ms", BenchCommand.time(7_270_000));
    }

    @Test
    void theChartIsWellFormedSvgWithEverySeriesAndTheLimit() throws Exception {
        List<Result> results = new ArrayList<>();
        for (BenchShape shape : BenchCommand.SHAPES) {
            double copy = shape.elements() / 10.0 + 5;
            results.add(new Result(shape, BenchCommand.COPY, copy, 1.5 * copy, 1, 1));
            results.add(new Result(shape, "avx512", 2 * copy, 2 * copy, 2, 2 / 1.5));
            results.add(new Result(shape, "java", 20 * copy, 20 * copy, 20, 20 / 1.5));
        }
        String svg = BenchChart.svg(results, "machine: <test> & co");
        Document document = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertEquals("svg", document.getDocumentElement().getTagName());
        assertTrue(svg.contains("machine: &lt;test&gt; &amp; co"));
        assertTrue(svg.contains(">avx512</text>") && svg.contains(">java</text>"));
        assertTrue(svg.contains("stroke-dasharray=\"7,4\""), "the limit line");
        assertTrue(svg.contains(">4096x4096</text>"));
        assertEquals(2.0, BenchChart.niceCeiling(1.7));
        assertEquals(250.0, BenchChart.niceCeiling(202.6));
    }
}
