package io.jmesh.security.ca;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's signing material and the mesh's trust bundle, read from (or first written to) a directory laid out as
 * Istio's {@code cacerts} secret:
 *
 * <pre>
 * ca-cert.pem     the signing certificate (the self-signed root, or an intermediate signed by the user's root)
 * ca-key.pem      its private key (PKCS#8, EC or RSA PKCS#1)
 * root-cert.pem   the trusted roots: the root of ca-cert.pem's chain, plus any other root still trusted
 *                 during a root transition (Istio's combined root)
 * cert-chain.pem  the intermediates from ca-cert.pem up to the root (may hold ca-cert.pem and the root too;
 *                 empty for a self-signed root)
 * </pre>
 *
 * <p>Immutable and thread-safe. The {@link #signingChain() signing chain} is ordered leafward first:
 * ca-cert.pem, then each intermediate up to (not including) the root. The {@link #trustBundle() trust bundle}
 * starts with the {@link #root() root that signs the chain}, followed by the other roots of root-cert.pem in
 * file order.
 */
public final class CaRoots {

    private static final Logger logger = LoggerFactory.getLogger(CaRoots.class);

    public static final String CA_CERT = "ca-cert.pem";
    public static final String CA_KEY = "ca-key.pem";
    public static final String ROOT_CERT = "root-cert.pem";
    public static final String CERT_CHAIN = "cert-chain.pem";

    /** Istio's lifetime of a self-signed root ({@code DefaultSelfSignedCACertTTL}): ten years. */
    public static final Duration SELF_SIGNED_ROOT_TTL = Duration.ofDays(3650);

    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate signingCert;
    private final PrivateKey signingKey;
    private final List<X509Certificate> signingChain;
    private final List<X509Certificate> trustBundle;
    private final boolean selfSigned;

    private CaRoots(X509Certificate signingCert, PrivateKey signingKey, List<X509Certificate> signingChain,
                    List<X509Certificate> trustBundle) {
        this.signingCert = signingCert;
        this.signingKey = signingKey;
        this.signingChain = List.copyOf(signingChain);
        this.trustBundle = List.copyOf(trustBundle);
        this.selfSigned = signingChain.isEmpty();
    }

    /**
     * Reads the material from {@code dir}; when neither {@code ca-cert.pem} nor {@code ca-key.pem} exists, generates
     * a self-signed EC P-256 root for {@code trustDomain} (organisation {@code O=<trustDomain>}, as Istio's
     * self-signed CA) and writes the four files first ({@code ca-key.pem} readable by its owner only), so the
     * next start reuses it.
     *
     * @throws CaConfigException naming the file when the directory holds unusable material, or cannot be written
     */
    public static CaRoots loadOrCreate(Path dir, String trustDomain, Clock clock) throws CaConfigException {
        Path cert = dir.resolve(CA_CERT);
        Path key = dir.resolve(CA_KEY);
        if (!Files.exists(cert) && !Files.exists(key)) {
            CaRoots generated = selfSigned(trustDomain, SELF_SIGNED_ROOT_TTL, clock);
            generated.write(dir);
            logger.info("generated a self-signed root for trust domain {} in {} (expires {})", trustDomain, dir,
                    generated.root().getNotAfter().toInstant());
            return generated;
        }
        return load(dir, clock);
    }

    /**
     * Reads the material from {@code dir} (see the class comment): {@code ca-cert.pem} and {@code ca-key.pem} are
     * required; {@code root-cert.pem} is required unless {@code ca-cert.pem} is self-signed; {@code cert-chain.pem}
     * is optional.
     *
     * @throws CaConfigException naming the file: missing or unreadable, key not matching the certificate, a
     *                           signing certificate that is not a CA, a chain that does not lead to a root of
     *                           root-cert.pem
     */
    public static CaRoots load(Path dir, Clock clock) throws CaConfigException {
        Path certFile = dir.resolve(CA_CERT);
        Path keyFile = dir.resolve(CA_KEY);
        Path rootFile = dir.resolve(ROOT_CERT);
        Path chainFile = dir.resolve(CERT_CHAIN);
        List<X509Certificate> caCerts = readCerts(certFile, true);
        if (caCerts.isEmpty()) {
            throw new CaConfigException(certFile + ": no CERTIFICATE block (expected: the CA's signing certificate)");
        }
        X509Certificate caCert = caCerts.get(0);
        PrivateKey key;
        try {
            key = Pem.privateKey(read(keyFile, true));
        } catch (IOException e) {
            throw new CaConfigException(keyFile + ": " + e.getMessage(), e);
        }
        if (!matches(key, caCert.getPublicKey())) {
            throw new CaConfigException(keyFile + ": does not match the public key of " + CA_CERT);
        }
        if (caCert.getBasicConstraints() < 0) {
            throw new CaConfigException(certFile + ": " + caCert.getSubjectX500Principal()
                    + " is not a CA certificate (expected: basicConstraints CA:TRUE)");
        }
        boolean[] usage = caCert.getKeyUsage();
        if (usage != null && !usage[5]) {
            throw new CaConfigException(certFile + ": key usage lacks keyCertSign (expected: a CA that signs certificates)");
        }
        List<X509Certificate> roots = readCerts(rootFile, !isSelfSigned(caCert));
        List<X509Certificate> pool = new ArrayList<>(caCerts.subList(1, caCerts.size()));
        pool.addAll(readCerts(chainFile, false));
        if (roots.isEmpty()) {
            roots = List.of(caCert);
        }
        // Walk from ca-cert.pem up to a root of root-cert.pem.
        List<X509Certificate> chain = new ArrayList<>();
        X509Certificate top = caCert;
        X509Certificate signingRoot = null;
        for (int depth = 0; depth < 10 && signingRoot == null; depth++) {
            X509Certificate root = issuerIn(top, roots);
            if (root != null) {
                if (!root.equals(top)) {
                    chain.add(top);
                }
                signingRoot = root;
                break;
            }
            if (isSelfSigned(top)) {
                throw new CaConfigException(rootFile + ": does not hold " + top.getSubjectX500Principal()
                        + ", the root of " + CA_CERT + " (expected: the root that signed the CA certificate)");
            }
            X509Certificate issuer = issuerIn(top, pool);
            if (issuer == null) {
                throw new CaConfigException(chainFile + ": no issuer of " + top.getSubjectX500Principal()
                        + " (expected: the intermediates from " + CA_CERT + " up to a root of " + ROOT_CERT + ")");
            }
            chain.add(top);
            top = issuer;
        }
        if (signingRoot == null) {
            throw new CaConfigException(chainFile + ": chain longer than 10 certificates");
        }
        List<X509Certificate> bundle = new ArrayList<>();
        bundle.add(signingRoot);
        for (X509Certificate r : roots) {
            if (!bundle.contains(r)) {
                bundle.add(r);
            }
        }
        Instant now = clock.instant();
        for (X509Certificate c : chain) {
            if (c.getNotAfter().toInstant().isBefore(now)) {
                logger.warn("{}: {} expired at {}", dir, c.getSubjectX500Principal(), c.getNotAfter().toInstant());
            }
        }
        CaRoots roots1 = new CaRoots(caCert, key, chain, bundle);
        logger.info("CA material from {}: signing as {} ({}), {} root(s) trusted", dir,
                caCert.getSubjectX500Principal(), roots1.selfSigned ? "self-signed root" : "plugged-in intermediate",
                bundle.size());
        return roots1;
    }

    /**
     * Generates a self-signed EC P-256 root for {@code trustDomain}, valid from one minute before now for
     * {@code ttl}: subject {@code O=<trustDomain>}, basicConstraints CA:TRUE (critical), keyUsage keyCertSign and
     * cRLSign (critical), a subject key identifier.
     */
    public static CaRoots selfSigned(String trustDomain, Duration ttl, Clock clock) {
        try {
            KeyPair kp = newEcKeyPair();
            var name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, trustDomain).build();
            Instant now = clock.instant();
            var b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(60)),
                    Date.from(now.plus(ttl)), name, kp.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509Certificate cert = new JcaX509CertificateConverter()
                    .getCertificate(b.build(new JcaContentSignerBuilder(signatureAlgorithm(kp.getPrivate()))
                            .build(kp.getPrivate())));
            return new CaRoots(cert, kp.getPrivate(), List.of(), List.of(cert));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot generate a self-signed root", e);
        }
    }

    /**
     * Returns material that signs as this one does but trusts {@code extraRoots} too (after this one's roots):
     * the state of a mesh in the middle of a root transition.
     */
    public CaRoots withExtraTrustedRoots(List<X509Certificate> extraRoots) {
        List<X509Certificate> bundle = new ArrayList<>(trustBundle);
        for (X509Certificate r : extraRoots) {
            if (!bundle.contains(r)) {
                bundle.add(r);
            }
        }
        return new CaRoots(signingCert, signingKey, signingChain, bundle);
    }

    /**
     * Writes the four files into {@code dir} (created if missing), each atomically; {@code ca-key.pem} gets mode
     * 0600 where the file system has POSIX permissions.
     *
     * @throws CaConfigException naming the file that cannot be written
     */
    public void write(Path dir) throws CaConfigException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new CaConfigException(dir + ": cannot create the CA directory: " + e.getMessage(), e);
        }
        writeAtomically(dir.resolve(CA_KEY), Pem.encode(signingKey), true);
        writeAtomically(dir.resolve(CERT_CHAIN), Pem.encode(signingChain.size() > 1
                ? signingChain.subList(1, signingChain.size()) : List.of()), false);
        writeAtomically(dir.resolve(ROOT_CERT), trustBundlePem(), false);
        writeAtomically(dir.resolve(CA_CERT), Pem.encode(signingCert), false);
    }

    private static void writeAtomically(Path file, String content, boolean secret) throws CaConfigException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            if (secret && file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
            Files.writeString(tmp, content, StandardCharsets.US_ASCII);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new CaConfigException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** The certificate that signs workload certificates (ca-cert.pem). */
    public X509Certificate signingCertificate() {
        return signingCert;
    }

    /** The private key of {@link #signingCertificate()}. */
    public PrivateKey signingKey() {
        return signingKey;
    }

    /**
     * The chain a leaf is sent with, leafward first: ca-cert.pem and each intermediate above it, without the root;
     * empty when ca-cert.pem is the (self-signed) root.
     */
    public List<X509Certificate> signingChain() {
        return signingChain;
    }

    /** The root at the top of the signing chain. */
    public X509Certificate root() {
        return trustBundle.get(0);
    }

    /** The trusted roots: {@link #root()} first, then the other roots still trusted (a root transition). */
    public List<X509Certificate> trustBundle() {
        return trustBundle;
    }

    /** {@link #trustBundle()} as consecutive PEM blocks: what a workload writes as its ROOTCA. */
    public String trustBundlePem() {
        return Pem.encode(trustBundle);
    }

    /** Whether ca-cert.pem is a self-signed root (no plugged-in intermediate). */
    public boolean selfSignedRoot() {
        return selfSigned;
    }

    /** Generates an EC P-256 key pair. */
    public static KeyPair newEcKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC P-256 is not available", e);
        }
    }

    /** A random positive 127-bit serial number. */
    static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    /** SHA256withECDSA or SHA256withRSA, by the key's algorithm. */
    static String signatureAlgorithm(PrivateKey key) {
        return switch (key.getAlgorithm()) {
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> throw new IllegalArgumentException("CA key algorithm: " + key.getAlgorithm()
                    + " (expected: EC or RSA)");
        };
    }

    private static boolean matches(PrivateKey key, PublicKey pub) {
        try {
            byte[] probe = "jmesh-ca-key-check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(signatureAlgorithm(key));
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(signatureAlgorithm(key));
            v.initVerify(pub);
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean isSelfSigned(X509Certificate c) {
        return c.getSubjectX500Principal().equals(c.getIssuerX500Principal()) && signedBy(c, c);
    }

    private static X509Certificate issuerIn(X509Certificate c, List<X509Certificate> candidates) {
        for (X509Certificate i : candidates) {
            if (i.getSubjectX500Principal().equals(c.getIssuerX500Principal()) && signedBy(c, i)) {
                return i;
            }
        }
        return null;
    }

    private static boolean signedBy(X509Certificate c, X509Certificate issuer) {
        try {
            c.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static String read(Path file, boolean required) throws CaConfigException {
        if (!Files.exists(file)) {
            if (required) {
                throw new CaConfigException(file + ": missing");
            }
            return "";
        }
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new CaConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static List<X509Certificate> readCerts(Path file, boolean required) throws CaConfigException {
        String pem = read(file, required);
        try {
            List<X509Certificate> certs = Pem.certificates(pem);
            if (required && certs.isEmpty()) {
                throw new CaConfigException(file + ": no CERTIFICATE block");
            }
            return Collections.unmodifiableList(certs);
        } catch (CertificateException e) {
            throw new CaConfigException(file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "CaRoots{signing=" + signingCert.getSubjectX500Principal() + ", roots=" + trustBundle.size() + "}";
    }

}
