package io.jmesh.proxy.network.http;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/** The RFC 7231 {@code date} header value, formatted at most once per second per thread. */
final class DateHeader {

    private static final ThreadLocal<long[]> SECOND = ThreadLocal.withInitial(() -> new long[] {-1});
    private static final ThreadLocal<String[]> VALUE = ThreadLocal.withInitial(() -> new String[1]);

    private DateHeader() {}

    static String now() {
        long sec = System.currentTimeMillis() / 1000;
        long[] s = SECOND.get();
        String[] v = VALUE.get();
        if (s[0] != sec) {
            s[0] = sec;
            v[0] = DateTimeFormatter.RFC_1123_DATE_TIME.format(
                    ZonedDateTime.ofInstant(java.time.Instant.ofEpochSecond(sec), ZoneOffset.UTC));
        }
        return v[0];
    }
}
