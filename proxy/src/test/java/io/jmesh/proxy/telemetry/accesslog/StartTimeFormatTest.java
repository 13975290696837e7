package io.jmesh.proxy.telemetry.accesslog;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jmesh.proxy.stream.StreamInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code %START_TIME(fmt)%} keeps the text of each second and writes only the fraction per entry: its output must be
 * exactly {@link AccessLogFormatter#strftime} of the whole format, for any format and time.
 */
class StartTimeFormatTest {

    private static final List<String> FORMATS = List.of(
            "%Y-%m-%dT%H:%M:%E3SZ", "%s.%3f", "%f", "%9f %6f %1f|%2f", "%ES", "%E0S", "%E6S|%E9S|%E1S",
            "%E%f", "%E3%f", "%1%f", "%0f", "%F %T %z %Z %a %A %b %B %j %e %y", "100%%", "end%", "%E", "%Q", "plain",
            "%3f%3f", "%s");

    /** 2023-11-14T22:13:19.998Z and the milliseconds around the next second, then other days. */
    private static final long[] TIMES = {1_700_000_000_000L - 2, 1_700_000_000_000L - 1, 1_700_000_000_000L,
            1_700_000_000_001L, 1_700_000_000_123L, 1_700_000_000_999L, 1_700_000_001_000L, 1_000L, 951_782_400_050L,
            4_102_444_799_999L};

    @Test
    void sameTextAsStrftimeAcrossSeconds() throws Exception {
        for (String fmt : FORMATS) {
            AccessLogFormatter formatter = AccessLogFormatter.parse("[%START_TIME(" + fmt + ")%]");
            for (long t : TIMES) {
                StreamInfo entry = new StreamInfo().startTimeMillis(t);
                assertEquals("[" + AccessLogFormatter.strftime(fmt, t) + "]", formatter.format(entry),
                        fmt + " at " + t);
            }
        }
    }

    @Test
    void truncatedAndJsonValuesUseTheSameText() throws Exception {
        long t = 1_700_000_000_123L;
        StreamInfo entry = new StreamInfo().startTimeMillis(t);
        assertEquals("2023-11", AccessLogFormatter.parse("%START_TIME:7%").format(entry));
        assertEquals("1700000000.123", AccessLogFormatter.parse("%START_TIME(%s.%3f)%").typedValue(entry));
        assertEquals("-", AccessLogFormatter.parse("%START_TIME%").format(new StreamInfo()));
    }
}
