package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** h2load (nghttp2) drives many HTTP/2 streams over few connections through the proxy: every request succeeds. */
class H2loadTest {

    @Test
    void h2loadAllRequestsSucceed() throws Exception {
        try (TestBackend backend = TestBackend.start("load");
             ProxyFixture proxy = HttpProxyTest.config(backend.port(), 1).start(2)) {
            for (String path : new String[] {"/load", "/h2/load"}) {
                Process p = new ProcessBuilder("h2load", "-n", "2000", "-c", "4", "-m", "10", proxy.url(path))
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
                Matcher m = Pattern.compile("requests: (\\d+) total, (\\d+) started, (\\d+) done, (\\d+) succeeded, (\\d+) failed, (\\d+) errored")
                        .matcher(out);
                assertTrue(m.find(), out);
                assertEquals("2000", m.group(4), out);
                assertEquals("0", m.group(5), out);
                Matcher s = Pattern.compile("status codes: (\\d+) 2xx").matcher(out);
                assertTrue(s.find() && s.group(1).equals("2000"), out);
            }
        }
    }
}
