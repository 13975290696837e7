package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;

import org.junit.jupiter.api.Test;

/** The {@code date} header is RFC 9110's IMF-fixdate: two-digit day, GMT, English names. */
class DateHeaderTest {

    @Test
    void dayOfMonthHasTwoDigits() {
        long t = Instant.parse("2026-12-02T08:04:05Z").getEpochSecond();
        assertEquals("Wed, 02 Dec 2026 08:04:05 GMT", DateHeader.format(t));
    }

    @Test
    void twoDigitDayUnchanged() {
        long t = Instant.parse("1994-11-06T08:49:37Z").getEpochSecond();
        assertEquals("Sun, 06 Nov 1994 08:49:37 GMT", DateHeader.format(t));
        assertEquals("Thu, 31 Dec 2026 23:59:59 GMT",
                DateHeader.format(Instant.parse("2026-12-31T23:59:59Z").getEpochSecond()));
    }
}
