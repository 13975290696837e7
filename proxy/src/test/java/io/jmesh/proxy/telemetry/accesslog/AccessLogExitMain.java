package io.jmesh.proxy.telemetry.accesslog;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.util.List;

/**
 * Run by {@link AccessLogBatchingTest} in a child JVM: logs {@code args[1]} entries to the file {@code args[0]}
 * and exits at once, without {@link AccessLogs#flush()}: the entries must be in the file because of the exit flush.
 */
public final class AccessLogExitMain {

    private AccessLogExitMain() {}

    public static void main(String[] args) throws Exception {
        AccessLog log = AccessLogs.create(List.of(io.envoyproxy.envoy.config.accesslog.v3.AccessLog.newBuilder()
                .setName("envoy.access_loggers.file")
                .setTypedConfig(Any.pack(FileAccessLog.newBuilder()
                        .setPath(args[0])
                        .setLogFormat(SubstitutionFormatString.newBuilder().setTextFormatSource(
                                DataSource.newBuilder().setInlineString("%REQ(:METHOD)% %REQ(X-N)%\n")))
                        .build()))
                .build()));
        int count = Integer.parseInt(args[1]);
        for (int n = 0; n < count; n++) {
            log.log(new StreamInfo().method("GET").requestHeaders(new DefaultHttpHeaders().add("x-n", Integer.toString(n))));
        }
        System.exit(0);
    }
}
