package io.jmesh.proxy.filter.setmetadata;

import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.extensions.filters.http.set_metadata.v3.Config;
import io.envoyproxy.envoy.extensions.filters.http.set_metadata.v3.Metadata;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.netty.handler.codec.http.HttpRequest;

/**
 * {@code envoy.filters.http.set_metadata} with its {@link Config}, as Envoy's {@code SetMetadataFilter}: on the
 * request headers, each {@code metadata} entry (and the deprecated {@code metadata_namespace} / {@code value}
 * pair, which always overwrites) is written to its namespace of the dynamic metadata. A namespace not yet present
 * takes the value; an existing one is deep-merged with it when {@code allow_overwrite} is true (structs merged key
 * by key, lists appended, other values replaced, as Envoy's {@code StructUtil::update}), and otherwise left alone,
 * counting {@code http.<stat_prefix>.set_metadata.overwrite_denied}. {@code typed_value} is refused: jmesh has no
 * typed dynamic metadata.
 */
public final class SetMetadataFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.http.set_metadata";

    record Entry(String namespace, Struct value, boolean allowOverwrite) {}

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return Config.getDescriptor();
    }

    @Override
    @SuppressWarnings("deprecation") // metadata_namespace and value: deprecated, still read by Envoy
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        Config c = HttpFilterFactory.unpack(typedConfig, Config.class, Config.getDescriptor());
        List<Entry> entries = new ArrayList<>();
        if (!c.getMetadataNamespace().isEmpty() || c.hasValue()) {
            if (c.getMetadataNamespace().isEmpty()) {
                throw new ConfigException("metadata_namespace: \"\" (expected: a namespace for value)");
            }
            entries.add(new Entry(c.getMetadataNamespace(), c.getValue(), true));
        }
        for (int i = 0; i < c.getMetadataCount(); i++) {
            Metadata m = c.getMetadata(i);
            String at = "metadata[" + i + "]";
            if (m.getMetadataNamespace().isEmpty()) {
                throw new ConfigException(at + ".metadata_namespace: \"\" (expected: a non-empty namespace)");
            }
            if (m.hasTypedValue()) {
                throw new ConfigException(at + ".typed_value: " + m.getTypedValue().getTypeUrl()
                        + " (expected: value; typed dynamic metadata is not supported)");
            }
            if (!m.hasValue()) {
                throw new ConfigException(at + ".value: (expected: a struct)");
            }
            entries.add(new Entry(m.getMetadataNamespace(), m.getValue(), m.getAllowOverwrite()));
        }
        Counter overwriteDenied = context.stats().counter("http." + context.statPrefix() + ".set_metadata.overwrite_denied");
        List<Entry> all = List.copyOf(entries);
        return route -> new StreamDecoderFilter() {
            private StreamDecoderFilterCallbacks callbacks;

            @Override
            public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks cb) {
                this.callbacks = cb;
            }

            @Override
            public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
                StreamInfo info = callbacks.streamInfo();
                for (Entry e : all) {
                    Struct current = info.dynamicMetadata().get(e.namespace());
                    if (current == null) {
                        info.dynamicMetadata().put(e.namespace(), e.value());
                    } else if (e.allowOverwrite()) {
                        info.dynamicMetadata().put(e.namespace(), update(current, e.value()));
                    } else {
                        overwriteDenied.inc();
                    }
                }
                return FilterHeadersStatus.CONTINUE;
            }
        };
    }

    /** Envoy's {@code StructUtil::update}: {@code with} merged into {@code base}. */
    static Struct update(Struct base, Struct with) {
        Struct.Builder out = base.toBuilder();
        with.getFieldsMap().forEach((k, v) -> {
            Value old = out.getFieldsMap().get(k);
            out.putFields(k, old == null ? v : merge(old, v));
        });
        return out.build();
    }

    private static Value merge(Value old, Value v) {
        if (old.hasStructValue() && v.hasStructValue()) {
            return Value.newBuilder().setStructValue(update(old.getStructValue(), v.getStructValue())).build();
        }
        if (old.hasListValue() && v.hasListValue()) {
            return Value.newBuilder().setListValue(ListValue.newBuilder(old.getListValue())
                    .addAllValues(v.getListValue().getValuesList())).build();
        }
        return v;
    }
}
