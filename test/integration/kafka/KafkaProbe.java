import java.io.FileReader;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * One produce or consume with Kafka's Java client, for kafka-acl.test.ts; prints `OK` (consume:
 * `OK <records>`) or the broker's error name, e.g. TOPIC_AUTHORIZATION_FAILED.
 *
 *   KafkaProbe produce <bootstrap> <client properties> <topic> <value>
 *   KafkaProbe consume <bootstrap> <client properties> <topic> <group>
 */
public class KafkaProbe {
  public static void main(String[] args) throws Exception {
    Properties config = new Properties();
    try (FileReader reader = new FileReader(args[2])) {
      config.load(reader);
    }
    config.put("bootstrap.servers", args[1]);
    try {
      if (args[0].equals("produce")) {
        config.put("max.block.ms", "20000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config, new StringSerializer(), new StringSerializer())) {
          producer.send(new ProducerRecord<>(args[3], args[4])).get();
        }
        System.out.println("OK");
      } else {
        config.put("group.id", args[4]);
        config.put("auto.offset.reset", "earliest");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
          consumer.subscribe(List.of(args[3]));
          int records = 0;
          long until = System.currentTimeMillis() + 10_000;
          while (System.currentTimeMillis() < until && records == 0) records += consumer.poll(Duration.ofSeconds(1)).count();
          System.out.println("OK " + records);
        }
      }
    } catch (ExecutionException e) {
      System.out.println(Errors.forException(e.getCause()).name());
    } catch (KafkaException e) {
      System.out.println(Errors.forException(e).name());
    }
  }
}
