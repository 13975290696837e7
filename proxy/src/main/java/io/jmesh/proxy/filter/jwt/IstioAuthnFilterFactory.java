package io.jmesh.proxy.filter.jwt;

import java.util.Map;
import java.util.TreeMap;

import com.google.protobuf.Any;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.netty.handler.codec.http.HttpRequest;

/**
 * Istio's {@code istio_authn} HTTP filter, placed after {@code envoy.filters.http.jwt_authn}: it turns the
 * verified JWT payload that filter left in dynamic metadata into Istio's request attributes, in the
 * {@code istio_authn} namespace: {@code request.auth.principal} ({@code iss/sub}), {@code request.auth.audiences}
 * ({@code aud}, several joined with commas), {@code request.auth.presenter} ({@code azp}),
 * {@code request.auth.claims} (each claim as a list of strings; objects as nested structs) and
 * {@code request.auth.raw_claims} (the payload as JSON). With several payloads, the first by metadata key order
 * (Istio keys them by issuer) is used. It never rejects a request. Its config
 * ({@code istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig}) is accepted and not read.
 */
public final class IstioAuthnFilterFactory implements HttpFilterFactory {

    /** Istio's filter name, also its metadata namespace. */
    public static final String NAME = "istio_authn";

    /** The config message, declared here (it has no Java classes): only its type URL matters. */
    public static final Descriptor CONFIG_TYPE = buildConfigType();

    private static Descriptor buildConfigType() {
        FileDescriptorProto file = FileDescriptorProto.newBuilder()
                .setName("jmesh/istio/authn/filter_config.proto")
                .setPackage("istio.envoy.config.filter.http.authn.v2alpha1")
                .setSyntax("proto3")
                .addMessageType(DescriptorProto.newBuilder().setName("FilterConfig"))
                .build();
        try {
            return FileDescriptor.buildFrom(file, new FileDescriptor[0]).findMessageTypeByName("FilterConfig");
        } catch (DescriptorValidationException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return CONFIG_TYPE;
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        String expected = "type.googleapis.com/" + CONFIG_TYPE.getFullName();
        if (!typedConfig.getTypeUrl().isEmpty() && !typedConfig.getTypeUrl().equals(expected)) {
            throw new ConfigException("@type: " + typedConfig.getTypeUrl() + " (expected: " + expected + ")");
        }
        return route -> new StreamDecoderFilter() {
            private StreamDecoderFilterCallbacks callbacks;

            @Override
            public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
                this.callbacks = callbacks;
            }

            @Override
            public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
                Struct attributes = attributes(callbacks.streamInfo().dynamicMetadata().get(JwtAuthnFilterFactory.NAME));
                if (attributes != null) {
                    callbacks.streamInfo().setDynamicMetadata(NAME, attributes);
                }
                return FilterHeadersStatus.CONTINUE;
            }
        };
    }

    /** Istio's attributes from the {@code envoy.filters.http.jwt_authn} metadata, or null when there is no payload. */
    static Struct attributes(Struct jwtMetadata) {
        if (jwtMetadata == null) {
            return null;
        }
        Struct payload = null;
        for (Map.Entry<String, Value> e : new TreeMap<>(jwtMetadata.getFieldsMap()).entrySet()) {
            if (e.getValue().hasStructValue()) {
                payload = e.getValue().getStructValue();
                break;
            }
        }
        if (payload == null) {
            return null;
        }
        Map<String, Value> f = payload.getFieldsMap();
        Struct.Builder out = Struct.newBuilder();
        String iss = string(f.get("iss"));
        String sub = string(f.get("sub"));
        if (iss != null && sub != null) {
            out.putFields("request.auth.principal", str(iss + "/" + sub));
        }
        Value aud = f.get("aud");
        if (aud != null) {
            String a = aud.hasListValue() ? String.join(",", aud.getListValue().getValuesList().stream()
                    .map(IstioAuthnFilterFactory::string).filter(java.util.Objects::nonNull).toList()) : string(aud);
            if (a != null) {
                out.putFields("request.auth.audiences", str(a));
            }
        }
        String azp = string(f.get("azp"));
        if (azp != null) {
            out.putFields("request.auth.presenter", str(azp));
        }
        out.putFields("request.auth.claims", Value.newBuilder().setStructValue(claims(payload)).build());
        try {
            out.putFields("request.auth.raw_claims", str(JsonFormat.printer().omittingInsignificantWhitespace().print(payload)));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            // a Struct always prints
        }
        return out.build();
    }

    /** Each claim as a list of strings (Istio's form); nested objects as structs of the same form. */
    private static Struct claims(Struct payload) {
        Struct.Builder b = Struct.newBuilder();
        for (Map.Entry<String, Value> e : payload.getFieldsMap().entrySet()) {
            Value v = e.getValue();
            if (v.hasStructValue()) {
                b.putFields(e.getKey(), Value.newBuilder().setStructValue(claims(v.getStructValue())).build());
                continue;
            }
            ListValue.Builder l = ListValue.newBuilder();
            if (v.hasListValue()) {
                for (Value item : v.getListValue().getValuesList()) {
                    String s = string(item);
                    if (s != null) {
                        l.addValues(str(s));
                    }
                }
            } else {
                String s = string(v);
                if (s != null) {
                    l.addValues(str(s));
                }
            }
            b.putFields(e.getKey(), Value.newBuilder().setListValue(l).build());
        }
        return b.build();
    }

    private static String string(Value v) {
        if (v == null) {
            return null;
        }
        return switch (v.getKindCase()) {
            case STRING_VALUE -> v.getStringValue();
            case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
            case NUMBER_VALUE -> v.getNumberValue() == Math.rint(v.getNumberValue()) && !Double.isInfinite(v.getNumberValue())
                    ? Long.toString((long) v.getNumberValue()) : Double.toString(v.getNumberValue());
            default -> null;
        };
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
