import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Who may do what on a CareGrid broker, from one source: the `events` component's
 * publishingScopes and subscriptionScopes (components/pubsub-events.yaml).
 *
 *   java -cp '<kafka jars>' infra/kafka/KafkaAccess.java <bootstrap> <component yaml> <credentials file> [admin client properties]
 *
 * Logs in as the admin (SASL/PLAIN, password `admin` of the credentials file; or as the admin
 * client properties file says, e.g. SASL_SSL with SCRAM on a managed Kafka) and converges the
 * broker: one SCRAM-SHA-512 user per app-id named in the scopes (its password from the credentials
 * file, generated there when missing), the topics the scopes name, and the ACLs — a publisher may
 * Write and Describe its topics, a subscriber may Read and Describe its topics and Read its
 * consumer group (the component's consumerGroup, `{appID}`, and `{appID}-…`). No user may create
 * topics or touch another's group. ACLs of these users that the scopes
 * no longer give are deleted. Idempotent: run on every start of a broker.
 */
public class KafkaAccess {
  private static final Pattern ENTRY = Pattern.compile("^\\s*- name: (\\w+)\\s*$");
  private static final Pattern VALUE = Pattern.compile("^\\s*value: \"?([^\"]*)\"?\\s*$");

  public static void main(String[] args) throws Exception {
    if (args.length != 3 && args.length != 4) {
      System.err.println("usage: KafkaAccess <bootstrap> <component yaml> <credentials file> [admin client properties]");
      System.exit(2);
    }
    String bootstrap = args[0];
    Map<String, String> metadata = componentMetadata(Path.of(args[1]));
    Map<String, Set<String>> publishes = scopes(metadata.get("publishingScopes"));
    Map<String, Set<String>> subscribes = scopes(metadata.get("subscriptionScopes"));
    String groupPattern = metadata.getOrDefault("consumerGroup", "{appID}");

    Set<String> apps = new LinkedHashSet<>(publishes.keySet());
    apps.addAll(subscribes.keySet());
    Map<String, String> credentials = credentials(Path.of(args[2]), apps);

    Properties config = new Properties();
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    config.put("security.protocol", "SASL_PLAINTEXT");
    config.put("sasl.mechanism", "PLAIN");
    config.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\""
            + credentials.get("admin")
            + "\";");
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
    if (args.length == 4) {
      try (java.io.Reader reader = Files.newBufferedReader(Path.of(args[3]))) {
        config.load(reader);
      }
    }

    try (Admin admin = Admin.create(config)) {
      List<UserScramCredentialAlteration> users = new ArrayList<>();
      // On CareGrid's own brokers the admin by SCRAM too: a test's probe sidecar (no app-id of
      // CareGrid behind it) logs in as the admin through the same component.
      Set<String> scramUsers = new LinkedHashSet<>(apps);
      if (args.length == 3) scramUsers.add("admin");
      for (String app : scramUsers) {
        users.add(
            new UserScramCredentialUpsertion(
                app, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), credentials.get(app)));
      }
      admin.alterUserScramCredentials(users).all().get();

      // Declared rather than auto-created: no service may create topics.
      Set<String> topics = new LinkedHashSet<>();
      publishes.values().forEach(topics::addAll);
      subscribes.values().forEach(topics::addAll);
      for (String topic : topics) {
        try {
          admin.createTopics(List.of(new NewTopic(topic, java.util.Optional.empty(), java.util.Optional.empty()))).all().get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) throw e;
        }
      }

      Set<AclBinding> wanted = new LinkedHashSet<>();
      for (String app : apps) {
        String principal = "User:" + app;
        for (String topic : publishes.getOrDefault(app, Set.of())) {
          wanted.add(allow(principal, ResourceType.TOPIC, topic, AclOperation.WRITE));
          wanted.add(allow(principal, ResourceType.TOPIC, topic, AclOperation.DESCRIBE));
        }
        Set<String> read = subscribes.getOrDefault(app, Set.of());
        for (String topic : read) {
          wanted.add(allow(principal, ResourceType.TOPIC, topic, AclOperation.READ));
          wanted.add(allow(principal, ResourceType.TOPIC, topic, AclOperation.DESCRIBE));
        }
        if (!read.isEmpty()) {
          // Its consumer group, and groups named after it (`<group>-<run>`: a test stack's own).
          String group = groupPattern.replace("{appID}", app);
          wanted.add(allow(principal, ResourceType.GROUP, group, AclOperation.READ));
          wanted.add(
              new AclBinding(
                  new ResourcePattern(ResourceType.GROUP, group + "-", PatternType.PREFIXED),
                  new AccessControlEntry(principal, "*", AclOperation.READ, AclPermissionType.ALLOW)));
        }
      }

      Set<AclBinding> existing = new HashSet<>();
      List<AclBindingFilter> stale = new ArrayList<>();
      for (String app : apps) {
        AclBindingFilter filter =
            new AclBindingFilter(
                ResourcePatternFilter.ANY,
                new AccessControlEntryFilter("User:" + app, null, AclOperation.ANY, AclPermissionType.ANY));
        for (AclBinding binding : admin.describeAcls(filter).values().get()) {
          existing.add(binding);
          if (!wanted.contains(binding)) stale.add(binding.toFilter());
        }
      }
      if (!stale.isEmpty()) admin.deleteAcls(stale).all().get();
      List<AclBinding> missing = wanted.stream().filter(b -> !existing.contains(b)).toList();
      if (!missing.isEmpty()) admin.createAcls(missing).all().get();
      System.out.printf(
          "kafka access: %d users, %d topics, %d ACLs (%d added, %d removed)%n",
          scramUsers.size(), topics.size(), wanted.size(), missing.size(), stale.size());
    }
  }

  private static AclBinding allow(String principal, ResourceType type, String name, AclOperation operation) {
    return new AclBinding(
        new ResourcePattern(type, name, PatternType.LITERAL),
        new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
  }

  /** The component's metadata entries with a literal value (`- name: x` then `value: y`). */
  private static Map<String, String> componentMetadata(Path file) throws IOException {
    Map<String, String> metadata = new LinkedHashMap<>();
    String name = null;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      Matcher entry = ENTRY.matcher(line);
      Matcher value = VALUE.matcher(line);
      if (entry.matches()) name = entry.group(1);
      else if (name != null && value.matches()) {
        metadata.put(name, value.group(1));
        name = null;
      }
    }
    for (String required : List.of("publishingScopes", "subscriptionScopes")) {
      if (!metadata.containsKey(required)) throw new IllegalStateException(file + ": no " + required);
    }
    return metadata;
  }

  /** `app=t1,t2;app2=` as app → topics (an app with nothing after `=` gets none). */
  private static Map<String, Set<String>> scopes(String value) {
    Map<String, Set<String>> byApp = new LinkedHashMap<>();
    for (String part : value.split(";")) {
      if (part.isBlank()) continue;
      String[] appTopics = part.split("=", 2);
      Set<String> topics = new LinkedHashSet<>();
      if (appTopics.length == 2) {
        for (String topic : appTopics[1].split(",")) if (!topic.isBlank()) topics.add(topic.trim());
      }
      byApp.computeIfAbsent(appTopics[0].trim(), k -> new LinkedHashSet<>()).addAll(topics);
    }
    return byApp;
  }

  /** `name=password` lines; missing ones (the admin's, a new app's) are generated and written back, owner-only. */
  private static Map<String, String> credentials(Path file, Set<String> apps) throws IOException {
    Map<String, String> credentials = new TreeMap<>();
    if (Files.exists(file)) {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        int eq = line.indexOf('=');
        if (eq > 0 && !line.startsWith("#")) credentials.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    }
    boolean added = false;
    SecureRandom random = new SecureRandom();
    Set<String> names = new LinkedHashSet<>(apps);
    names.add("admin");
    for (String name : names) {
      if (credentials.containsKey(name)) continue;
      byte[] bytes = new byte[24];
      random.nextBytes(bytes);
      credentials.put(name, Base64.getUrlEncoder().withoutPadding().encodeToString(bytes));
      added = true;
    }
    if (added) {
      StringBuilder text = new StringBuilder("# Kafka SASL passwords (generated; admin: SASL/PLAIN, the others SCRAM-SHA-512)\n");
      credentials.forEach((name, password) -> text.append(name).append('=').append(password).append('\n'));
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.deleteIfExists(tmp);
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(tmp, text);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
    return credentials;
  }
}
