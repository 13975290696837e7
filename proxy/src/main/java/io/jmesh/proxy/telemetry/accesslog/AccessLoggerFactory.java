package io.jmesh.proxy.telemetry.accesslog;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionFactory;
import io.jmesh.proxy.extension.ExtensionKind;

/**
 * Makes an access logger from its {@code typed_config} (Envoy's {@code AccessLog::AccessLogInstanceFactory}), for the
 * {@code access_log} lists of the HTTP connection manager, tcp_proxy and rpc_proxy. Found in the
 * {@link io.jmesh.proxy.extension.ExtensionRegistry} by the config's type URL, else by {@link #name()}; a test or a
 * user jar adds one by listing it in {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory}. The
 * built-ins are {@code envoy.access_loggers.file}, {@code stdout} and {@code stderr} ({@link AccessLogs}).
 * Factories are stateless and run off the event loop, once per config.
 */
public interface AccessLoggerFactory extends ExtensionFactory {

    /** The kind of access logger factories. */
    ExtensionKind<AccessLoggerFactory> KIND = ExtensionKind.of("access_logger", AccessLoggerFactory.class);

    @Override
    default ExtensionKind<?> kind() {
        return KIND;
    }

    /**
     * Validates the config and builds the logger. The logger's {@link AccessLog#log} runs on event loops and must
     * not block. Error messages start with {@code typed_config}, e.g. {@code typed_config.path: "" (expected: ...)}.
     *
     * @param typedConfig the {@code typed_config} (the default instance when there is none)
     */
    AccessLog create(Any typedConfig, ExtensionContext context) throws ConfigException;
}
