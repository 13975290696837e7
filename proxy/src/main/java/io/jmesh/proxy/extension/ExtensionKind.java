package io.jmesh.proxy.extension;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * A kind of extension: its factory interface and how a factory names itself. Compared by identity. A kind is
 * declared next to its factory interface ({@code NetworkFilterFactory.KIND}, {@code ListenerFilterFactory.KIND},
 * {@code RpcFilterFactory.KIND}, {@code TransportSocketFactory.KIND}, {@code AccessLoggerFactory.KIND}) and held by
 * the same {@link ExtensionRegistry}. HTTP filters, whose factory interface predates the registry, are adapted here.
 * Immutable.
 *
 * @param <F> the factory type
 */
public final class ExtensionKind<F> {

    /** HTTP filters of the HTTP connection manager ({@code http_filters}), adapted from {@link HttpFilterFactory}. */
    public static final ExtensionKind<HttpFilterFactory> HTTP_FILTER = new ExtensionKind<>("http_filter",
            HttpFilterFactory.class, HttpFilterFactory::name, f -> List.of(EnvoyTypes.typeUrl(f.configType())));

    private final String name;
    private final Class<F> type;
    private final Function<? super F, String> nameOf;
    private final Function<? super F, ? extends Collection<String>> typeUrlsOf;

    /**
     * A kind whose factories name themselves by other means than {@link ExtensionFactory}.
     *
     * @param name       the kind's name in error messages, e.g. {@code network_filter}
     * @param type       the factory interface, also the {@code META-INF/services} file name
     * @param nameOf     a factory's Envoy name
     * @param typeUrlsOf the type URLs of a factory's config
     */
    public ExtensionKind(String name, Class<F> type, Function<? super F, String> nameOf,
                         Function<? super F, ? extends Collection<String>> typeUrlsOf) {
        this.name = Objects.requireNonNull(name, "name");
        this.type = Objects.requireNonNull(type, "type");
        this.nameOf = Objects.requireNonNull(nameOf, "nameOf");
        this.typeUrlsOf = Objects.requireNonNull(typeUrlsOf, "typeUrlsOf");
    }

    /** A kind whose factories implement {@link ExtensionFactory}. */
    public static <F extends ExtensionFactory> ExtensionKind<F> of(String name, Class<F> type) {
        return new ExtensionKind<>(name, type, ExtensionFactory::name, ExtensionFactory::typeUrls);
    }

    public String name() {
        return name;
    }

    public Class<F> type() {
        return type;
    }

    String nameOf(F factory) {
        return nameOf.apply(factory);
    }

    Collection<String> typeUrlsOf(F factory) {
        return typeUrlsOf.apply(factory);
    }

    @Override
    public String toString() {
        return name;
    }
}
