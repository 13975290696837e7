package io.jmesh.proxy.network.http;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The {@code date} header value in RFC 9110's IMF-fixdate ({@code Sun, 06 Nov 1994 08:49:37 GMT}: the day of
 * the month always has two digits, as Envoy sends it), formatted at most once per second per thread.
 */
final class DateHeader {

    private static final ThreadLocal<long[]> SECOND = ThreadLocal.withInitial(() -> new long[] {-1});
    private static final ThreadLocal<String[]> VALUE = ThreadLocal.withInitial(() -> new String[1]);

    /** IMF-fixdate (RFC 9110 section 5.6.7); Java's RFC_1123_DATE_TIME drops the leading zero of the day. */
    private static final DateTimeFormatter IMF_FIXDATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    private DateHeader() {}

    static String now() {
        long sec = System.currentTimeMillis() / 1000;
        long[] s = SECOND.get();
        String[] v = VALUE.get();
        if (s[0] != sec) {
            s[0] = sec;
            v[0] = format(sec);
        }
        return v[0];
    }

    /** Formats {@code epochSecond} as IMF-fixdate. */
    static String format(long epochSecond) {
        return IMF_FIXDATE.format(java.time.Instant.ofEpochSecond(epochSecond));
    }
}
