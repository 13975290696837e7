package io.jmesh.proxy.filter.grpcjson;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder;
import io.jmesh.proxy.config.ConfigException;

/**
 * A validated {@link GrpcJsonTranscoder}: the descriptor set's services, their HTTP bindings (from
 * {@code google.api.http}, plus {@code POST /pkg.Service/Method} with {@code auto_mapping}) and the JSON printer.
 * Options jmesh does not implement are refused by name. Immutable.
 */
final class TranscoderConfig {

    /** One HTTP binding of a method. */
    record Binding(String httpMethod, PathTemplate template, String body, MethodDescriptor method) {}

    final List<Binding> bindings;
    final JsonFormat.Printer printer;
    final JsonFormat.Parser parser;
    final boolean matchIncomingRequestRoute;
    final boolean ignoreUnknownQueryParameters;
    final Set<String> ignoredQueryParameters;
    final boolean rejectUnknownMethod;
    final boolean streamNewlineDelimited;

    private TranscoderConfig(List<Binding> bindings, JsonFormat.Printer printer, JsonFormat.Parser parser,
                             GrpcJsonTranscoder c) {
        this.bindings = bindings;
        this.printer = printer;
        this.parser = parser;
        this.matchIncomingRequestRoute = c.getMatchIncomingRequestRoute();
        this.ignoreUnknownQueryParameters = c.getIgnoreUnknownQueryParameters();
        this.ignoredQueryParameters = Set.copyOf(c.getIgnoredQueryParametersList());
        this.rejectUnknownMethod = c.getRequestValidationOptions().getRejectUnknownMethod();
        this.streamNewlineDelimited = c.getPrintOptions().getStreamNewlineDelimited();
    }

    static TranscoderConfig from(GrpcJsonTranscoder c) throws ConfigException {
        refuse(c.getConvertGrpcStatus(), "convert_grpc_status: true");
        refuse(c.getUrlUnescapeSpecValue() != 0, "url_unescape_spec: " + c.getUrlUnescapeSpec());
        refuse(c.getQueryParamUnescapePlus(), "query_param_unescape_plus: true");
        refuse(c.getMatchUnregisteredCustomVerb(), "match_unregistered_custom_verb: true");
        refuse(c.getCaseInsensitiveEnumParsing(), "case_insensitive_enum_parsing: true");
        refuse(c.hasMaxRequestBodySize(), "max_request_body_size");
        refuse(c.hasMaxResponseBodySize(), "max_response_body_size");
        refuse(c.getCaptureUnknownQueryParameters(), "capture_unknown_query_parameters: true");
        refuse(c.getRequestValidationOptions().getRejectUnknownQueryParameters(),
                "request_validation_options.reject_unknown_query_parameters: true");
        refuse(c.getRequestValidationOptions().getRejectBindingBodyFieldCollisions(),
                "request_validation_options.reject_binding_body_field_collisions: true");
        ByteString bin;
        switch (c.getDescriptorSetCase()) {
            case PROTO_DESCRIPTOR:
                try {
                    bin = ByteString.copyFrom(Files.readAllBytes(Path.of(c.getProtoDescriptor())));
                } catch (IOException e) {
                    throw new ConfigException("proto_descriptor: " + c.getProtoDescriptor()
                            + " (expected: a readable descriptor set file: " + e.getMessage() + ")");
                }
                break;
            case PROTO_DESCRIPTOR_BIN:
                bin = c.getProtoDescriptorBin();
                break;
            default:
                throw new ConfigException("proto_descriptor: (expected: proto_descriptor or proto_descriptor_bin)");
        }
        String where = c.hasField(GrpcJsonTranscoder.getDescriptor().findFieldByName("proto_descriptor"))
                ? "proto_descriptor" : "proto_descriptor_bin";
        Map<String, FileDescriptor> files = load(bin, where);
        if (c.getServicesCount() == 0) {
            throw new ConfigException("services: [] (expected: the full names of the services to transcode)");
        }
        List<Binding> bindings = new ArrayList<>();
        JsonFormat.TypeRegistry.Builder jsonTypes = JsonFormat.TypeRegistry.newBuilder();
        for (int i = 0; i < c.getServicesCount(); i++) {
            String name = c.getServices(i);
            ServiceDescriptor s = null;
            for (FileDescriptor f : files.values()) {
                for (ServiceDescriptor sd : f.getServices()) {
                    if (sd.getFullName().equals(name)) {
                        s = sd;
                    }
                }
            }
            if (s == null) {
                throw new ConfigException("services[" + i + "]: " + name + " (expected: a service of the " + where + ")");
            }
            for (MethodDescriptor m : s.getMethods()) {
                jsonTypes.add(m.getInputType());
                jsonTypes.add(m.getOutputType());
                String at = "services[" + i + "]: " + name + "." + m.getName();
                HttpRule rule = m.toProto().getOptions().hasExtension(AnnotationsProto.http)
                        ? m.toProto().getOptions().getExtension(AnnotationsProto.http) : null;
                if (rule != null) {
                    addRule(bindings, rule, m, at + " google.api.http");
                    for (HttpRule extra : rule.getAdditionalBindingsList()) {
                        addRule(bindings, extra, m, at + " google.api.http.additional_bindings");
                    }
                }
                if (c.getAutoMapping() && rule == null) {
                    bindings.add(new Binding("POST", PathTemplate.parse("/" + s.getFullName() + "/" + m.getName(), at),
                            "*", m));
                }
            }
        }
        GrpcJsonTranscoder.PrintOptions po = c.getPrintOptions();
        JsonFormat.TypeRegistry registry = jsonTypes.build();
        JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(registry);
        if (!po.getAddWhitespace()) {
            printer = printer.omittingInsignificantWhitespace();
        }
        if (po.getAlwaysPrintPrimitiveFields()) {
            printer = printer.includingDefaultValueFields();
        }
        if (po.getAlwaysPrintEnumsAsInts()) {
            printer = printer.printingEnumsAsInts();
        }
        if (po.getPreserveProtoFieldNames()) {
            printer = printer.preservingProtoFieldNames();
        }
        return new TranscoderConfig(List.copyOf(bindings), printer, JsonFormat.parser().usingTypeRegistry(registry), c);
    }

    private static void refuse(boolean set, String what) throws ConfigException {
        if (set) {
            throw new ConfigException(what + " (expected: unset; not supported by jmesh's transcoder)");
        }
    }

    private static void addRule(List<Binding> out, HttpRule r, MethodDescriptor m, String at) throws ConfigException {
        String method;
        String template;
        switch (r.getPatternCase()) {
            case GET -> { method = "GET"; template = r.getGet(); }
            case PUT -> { method = "PUT"; template = r.getPut(); }
            case POST -> { method = "POST"; template = r.getPost(); }
            case DELETE -> { method = "DELETE"; template = r.getDelete(); }
            case PATCH -> { method = "PATCH"; template = r.getPatch(); }
            case CUSTOM -> { method = r.getCustom().getKind(); template = r.getCustom().getPath(); }
            default -> throw new ConfigException(at + ": no pattern (expected: get, put, post, delete, patch or custom)");
        }
        if (!r.getBody().isEmpty() && !r.getBody().equals("*")
                && m.getInputType().findFieldByName(r.getBody()) == null) {
            throw new ConfigException(at + ".body: " + r.getBody() + " (expected: * or a field of "
                    + m.getInputType().getFullName() + ")");
        }
        if (!r.getResponseBody().isEmpty()) {
            throw new ConfigException(at + ".response_body: " + r.getResponseBody() + " (expected: unset; not supported)");
        }
        out.add(new Binding(method, PathTemplate.parse(template, at), r.getBody(), m));
    }

    /** Builds the files of a descriptor set; well-known and google.api files it lacks come from the class path. */
    private static Map<String, FileDescriptor> load(ByteString bin, String where) throws ConfigException {
        FileDescriptorSet set;
        try {
            ExtensionRegistry reg = ExtensionRegistry.newInstance();
            AnnotationsProto.registerAllExtensions(reg);
            set = FileDescriptorSet.parseFrom(bin, reg);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(where + ": (expected: a serialized google.protobuf.FileDescriptorSet: "
                    + e.getMessage() + ")");
        }
        Map<String, FileDescriptorProto> protos = new HashMap<>();
        for (FileDescriptorProto p : set.getFileList()) {
            protos.put(p.getName(), p);
        }
        Map<String, FileDescriptor> built = new HashMap<>();
        for (String name : protos.keySet()) {
            build(name, protos, built, new HashSet<>(), where);
        }
        return built;
    }

    private static final Map<String, FileDescriptor> BUILT_IN = builtIn();

    private static Map<String, FileDescriptor> builtIn() {
        Map<String, FileDescriptor> m = new HashMap<>();
        for (FileDescriptor f : List.of(AnnotationsProto.getDescriptor(), com.google.api.HttpProto.getDescriptor(),
                com.google.protobuf.DescriptorProtos.getDescriptor(), com.google.protobuf.AnyProto.getDescriptor(),
                com.google.protobuf.EmptyProto.getDescriptor(), com.google.protobuf.StructProto.getDescriptor(),
                com.google.protobuf.TimestampProto.getDescriptor(), com.google.protobuf.DurationProto.getDescriptor(),
                com.google.protobuf.WrappersProto.getDescriptor(), com.google.protobuf.FieldMaskProto.getDescriptor())) {
            m.put(f.getName(), f);
        }
        return m;
    }

    private static FileDescriptor build(String name, Map<String, FileDescriptorProto> protos,
                                        Map<String, FileDescriptor> built, Set<String> visiting, String where)
            throws ConfigException {
        FileDescriptor done = built.get(name);
        if (done != null) {
            return done;
        }
        FileDescriptorProto p = protos.get(name);
        if (p == null) {
            FileDescriptor f = BUILT_IN.get(name);
            if (f == null) {
                throw new ConfigException(where + ": " + name + " is imported but missing (expected: a descriptor set"
                        + " built with --include_imports)");
            }
            return f;
        }
        if (!visiting.add(name)) {
            throw new ConfigException(where + ": " + name + " imports itself (expected: no import cycle)");
        }
        List<FileDescriptor> deps = new ArrayList<>();
        for (String d : p.getDependencyList()) {
            deps.add(build(d, protos, built, visiting, where));
        }
        try {
            FileDescriptor f = FileDescriptor.buildFrom(p, deps.toArray(new FileDescriptor[0]));
            built.put(name, f);
            return f;
        } catch (DescriptorValidationException e) {
            throw new ConfigException(where + ": " + name + " (expected: a valid file descriptor: "
                    + e.getMessage() + ")");
        }
    }
}
