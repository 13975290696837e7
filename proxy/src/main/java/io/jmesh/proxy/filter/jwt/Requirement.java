package io.jmesh.proxy.filter.jwt;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.ProviderWithAudiences;
import io.jmesh.proxy.config.ConfigException;

/**
 * A {@code JwtRequirement} tree, validated against the providers (Envoy's verifier tree): a provider (with its
 * audiences or others), {@code requires_any}, {@code requires_all}, {@code allow_missing},
 * {@code allow_missing_or_failed}. Immutable.
 */
sealed interface Requirement {

    /** The outcome for one request. */
    JwtStatus evaluate(Verification v);

    /** Adds the providers whose keys this requirement may need. */
    void providers(Set<JwtProviderConfig> out);

    /** Verify with one provider, optionally with other audiences than the provider's. */
    record Provider(JwtProviderConfig provider, List<String> audiences) implements Requirement {
        @Override
        public JwtStatus evaluate(Verification v) {
            return v.verify(provider, audiences);
        }

        @Override
        public void providers(Set<JwtProviderConfig> out) {
            out.add(provider);
        }
    }

    /** OK when one child is OK; else the first failure other than a missing token, else "missing". */
    record Any(List<Requirement> children) implements Requirement {
        @Override
        public JwtStatus evaluate(Verification v) {
            JwtStatus failure = null;
            for (Requirement r : children) {
                JwtStatus s = r.evaluate(v);
                if (s == JwtStatus.OK) {
                    return s;
                }
                if (failure == null || (failure == JwtStatus.JWT_MISSED && s != JwtStatus.JWT_MISSED)) {
                    failure = s;
                }
            }
            return failure == null ? JwtStatus.JWT_MISSED : failure;
        }

        @Override
        public void providers(Set<JwtProviderConfig> out) {
            children.forEach(c -> c.providers(out));
        }
    }

    /** OK when every child is OK; else the first failure. */
    record All(List<Requirement> children) implements Requirement {
        @Override
        public JwtStatus evaluate(Verification v) {
            for (Requirement r : children) {
                JwtStatus s = r.evaluate(v);
                if (s != JwtStatus.OK) {
                    return s;
                }
            }
            return JwtStatus.OK;
        }

        @Override
        public void providers(Set<JwtProviderConfig> out) {
            children.forEach(c -> c.providers(out));
        }
    }

    /**
     * {@code allow_missing}: OK without a token in any provider's locations; a token present must verify with
     * some provider.
     */
    record AllowMissing(Collection<JwtProviderConfig> all) implements Requirement {
        @Override
        public JwtStatus evaluate(Verification v) {
            JwtStatus failure = null;
            for (JwtProviderConfig p : all) {
                JwtStatus s = v.verify(p, null);
                if (s == JwtStatus.OK) {
                    return s;
                }
                if (s != JwtStatus.JWT_MISSED && failure == null) {
                    failure = s;
                }
            }
            return failure == null ? JwtStatus.OK : failure;
        }

        @Override
        public void providers(Set<JwtProviderConfig> out) {
            out.addAll(all);
        }
    }

    /** {@code allow_missing_or_failed}: always OK; a token that verifies still leaves its payload and headers. */
    record AllowMissingOrFailed(Collection<JwtProviderConfig> all) implements Requirement {
        @Override
        public JwtStatus evaluate(Verification v) {
            for (JwtProviderConfig p : all) {
                v.verify(p, null);
            }
            return JwtStatus.OK;
        }

        @Override
        public void providers(Set<JwtProviderConfig> out) {
            out.addAll(all);
        }
    }

    /** Validates {@code r}; {@code path} names it in errors. */
    static Requirement create(JwtRequirement r, Map<String, JwtProviderConfig> providers, String path)
            throws ConfigException {
        switch (r.getRequiresTypeCase()) {
            case PROVIDER_NAME:
                return new Provider(provider(providers, r.getProviderName(), path + ".provider_name"), null);
            case PROVIDER_AND_AUDIENCES: {
                ProviderWithAudiences pa = r.getProviderAndAudiences();
                return new Provider(provider(providers, pa.getProviderName(), path + ".provider_and_audiences.provider_name"),
                        List.copyOf(pa.getAudiencesList()));
            }
            case REQUIRES_ANY: {
                if (r.getRequiresAny().getRequirementsCount() < 2) {
                    throw new ConfigException(path + ".requires_any.requirements: " + r.getRequiresAny().getRequirementsCount()
                            + " items (expected: at least 2)");
                }
                List<Requirement> c = new ArrayList<>();
                for (int i = 0; i < r.getRequiresAny().getRequirementsCount(); i++) {
                    c.add(create(r.getRequiresAny().getRequirements(i), providers, path + ".requires_any.requirements[" + i + "]"));
                }
                return new Any(List.copyOf(c));
            }
            case REQUIRES_ALL: {
                if (r.getRequiresAll().getRequirementsCount() < 2) {
                    throw new ConfigException(path + ".requires_all.requirements: " + r.getRequiresAll().getRequirementsCount()
                            + " items (expected: at least 2)");
                }
                List<Requirement> c = new ArrayList<>();
                for (int i = 0; i < r.getRequiresAll().getRequirementsCount(); i++) {
                    c.add(create(r.getRequiresAll().getRequirements(i), providers, path + ".requires_all.requirements[" + i + "]"));
                }
                return new All(List.copyOf(c));
            }
            case ALLOW_MISSING:
                return new AllowMissing(List.copyOf(providers.values()));
            case ALLOW_MISSING_OR_FAILED:
                return new AllowMissingOrFailed(List.copyOf(providers.values()));
            default:
                throw new ConfigException(path + ": {} (expected: provider_name, provider_and_audiences, requires_any,"
                        + " requires_all, allow_missing or allow_missing_or_failed)");
        }
    }

    private static JwtProviderConfig provider(Map<String, JwtProviderConfig> providers, String name, String path)
            throws ConfigException {
        JwtProviderConfig p = providers.get(name);
        if (p == null) {
            throw new ConfigException(path + ": \"" + name + "\" (expected: one of " + new java.util.TreeSet<>(providers.keySet()) + ")");
        }
        return p;
    }
}
