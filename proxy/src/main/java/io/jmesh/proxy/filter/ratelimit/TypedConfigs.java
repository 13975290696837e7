package io.jmesh.proxy.filter.ratelimit;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * Unpacks a filter's {@code typed_config}, given as the message itself or, as Istio's rate limit examples write it,
 * as an {@code xds.type.v3.TypedStruct} / {@code udpa.type.v1.TypedStruct} whose {@code type_url} names the message
 * and whose {@code value} holds its fields (validated like any other config).
 */
final class TypedConfigs {

    private static final String XDS = "type.googleapis.com/xds.type.v3.TypedStruct";
    private static final String UDPA = "type.googleapis.com/udpa.type.v1.TypedStruct";

    private TypedConfigs() {}

    /** Whether {@code any} is a TypedStruct. */
    static boolean isTypedStruct(Any any) {
        return XDS.equals(any.getTypeUrl()) || UDPA.equals(any.getTypeUrl());
    }

    @SuppressWarnings("unchecked")
    static <T extends Message> T unpack(Any any, Class<T> type, T defaultInstance) throws ConfigException {
        if (!isTypedStruct(any)) {
            return HttpFilterFactory.unpack(any, type, defaultInstance.getDescriptorForType());
        }
        String typeUrl;
        Struct value;
        try {
            if (XDS.equals(any.getTypeUrl())) {
                var ts = any.unpack(com.github.xds.type.v3.TypedStruct.class);
                typeUrl = ts.getTypeUrl();
                value = ts.getValue();
            } else {
                var ts = any.unpack(com.github.udpa.udpa.type.v1.TypedStruct.class);
                typeUrl = ts.getTypeUrl();
                value = ts.getValue();
            }
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("@type: " + any.getTypeUrl() + " (expected: a valid TypedStruct)", e);
        }
        String expected = EnvoyTypes.typeUrl(defaultInstance.getDescriptorForType());
        if (!expected.equals(typeUrl)) {
            throw new ConfigException("type_url: " + typeUrl + " (expected: " + expected + ")");
        }
        try {
            String json = JsonFormat.printer().print(value);
            return (T) EnvoyTypes.PARSER.parse(json, defaultInstance.newBuilderForType()).build();
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("value: " + e.getMessage(), e);
        } catch (ConfigException e) {
            throw e.under("value");
        }
    }
}
